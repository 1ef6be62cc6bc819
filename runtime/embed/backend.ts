// Where a graph runs: the reference interpreter (CPU, float64) or the WebGPU executor (Dawn; lavapipe
// on a machine without a GPU). Both take the same graph and feeds.

import type { Graph, ValueId } from "../../compiler/graph/graph.ts";
import type { Tensor } from "../reference/tensor.ts";

export type BackendName = "reference" | "webgpu";

export interface Backend {
  readonly name: BackendName;
  /** A line describing the device. */
  readonly description: string;
  run(
    graph: Graph,
    feeds: ReadonlyMap<ValueId, Tensor>,
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
      run: async (graph, feeds) => evaluate(graph, feeds),
      close() {},
    };
  }
  const { acquireDevice } = await import("../device/device.ts");
  const { createExecutor } = await import("../executor/executor.ts");
  const device = await acquireDevice();
  const executor = await createExecutor(device);
  return {
    name,
    description: `webgpu (${device.info.description || device.info.device || "adapter"})`,
    run: (graph, feeds, outputs) => executor.evaluate(graph, feeds, outputs),
    close() {
      executor.release();
      device.destroy();
    },
  };
}
