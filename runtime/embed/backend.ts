// Where a graph runs: the reference interpreter (CPU, float64) or the WebGPU executor (Dawn; lavapipe
// on a machine without a GPU). Both take the same graph and feeds; the checkpoint's weights are fed as f32
// (their precision in the file), which the executor uploads as they are and the interpreter widens once (immutable weights).

import type { Graph, ValueId } from "../../compiler/graph/graph.ts";
import { type Feed, type Tensor, widened } from "../reference/tensor.ts";

export type BackendName = "reference" | "webgpu";

export interface Backend {
  readonly name: BackendName;
  /** A line describing the device. */
  readonly description: string;
  run(
    graph: Graph,
    feeds: ReadonlyMap<ValueId, Feed>,
    outputs: readonly ValueId[],
  ): Promise<Map<ValueId, Tensor>>;
  close(): void;
}

export async function openBackend(name: BackendName): Promise<Backend> {
  if (name === "reference") {
    const { evaluate } = await import("../reference/interpreter.ts");
    return {
      name,
      description: "reference interpreter (CPU, float64)",
      run: async (graph, feeds) => evaluate(graph, new Map([...feeds].map(([id, f]) => [id, widened(f)]))),
      close() {},
    };
  }
  const { acquireDevice } = await import("../device/device.ts");
  const { createExecutor } = await import("../executor/executor.ts");
  const { tunedExecutorOptions } = await import("../executor/autotune.ts");
  const device = await acquireDevice();
  const executor = await createExecutor(device, await tunedExecutorOptions(device));
  return {
    name,
    description: `webgpu (${device.info.description || device.info.device || "adapter"})`,
    // An f32 feed goes up as it is, without an f64 copy on the host; the weights (immutable) only once.
    run: (graph, feeds, outputs) => executor.evaluate(graph, feeds, outputs),
    close() {
      executor.release();
      device.destroy();
    },
  };
}
