// Where graphs run, for `vlmp run` and `vlmp embed` alike: the WebGPU executor (Dawn; a GPU, or a CPU
// through lavapipe) or the reference interpreter (plain TypeScript, float64). Both take feeds by node id
// and return the requested outputs. Checkpoint weights come as f32 (their precision in the file): the
// executor uploads them as they are (once, while the same immutable objects are fed), the reference widens
// each immutable feed once (reference/tensor.ts widened). `auto` prefers WebGPU when an adapter exists and
// falls back to the reference interpreter.

import type { Graph, ValueId } from "../../compiler/graph/graph.ts";
import type { Trainer, TrainerOptions } from "../executor/trainer.ts";
import { evaluate } from "../reference/interpreter.ts";
import { type Feed, type Tensor, widened } from "../reference/tensor.ts";

export type BackendKind = "auto" | "webgpu" | "reference";

export interface Backend {
  readonly kind: "webgpu" | "reference";
  /** For summaries and messages: `webgpu (llvmpipe …)` or `reference`. */
  readonly description: string;
  /**
   * Whether values of dtype f16 (`precision = f16` weights) are held at f16: on the reference always
   * (it rounds them), on WebGPU where the adapter offers shader-f16 (else they are widened to f32).
   */
  readonly holdsHalf: boolean;
  run(
    graph: Graph,
    feeds: ReadonlyMap<ValueId, Feed>,
    outputs: readonly ValueId[],
  ): Promise<Map<ValueId, Tensor>>;
  /**
   * Compiles a graph and runs it once on `feeds` (WebGPU: kernels, pipelines and Dawn's lazy shader
   * compilation), so that timings leave compilation out; nothing for the reference interpreter.
   */
  warmUp(graph: Graph, feeds: ReadonlyMap<ValueId, Feed>, outputs: readonly ValueId[]): Promise<void>;
  /**
   * WebGPU only: a trainer of `graph` keeping the parameters in `grads` (param -> its gradient) and the
   * optimizer's state resident on the device; a step reads back only the loss.
   */
  createTrainer?(
    graph: Graph,
    loss: ValueId,
    grads: ReadonlyMap<ValueId, ValueId>,
    options: TrainerOptions,
  ): Promise<Trainer>;
  /** Releases the device (the process may then exit). */
  close(): void;
}

export function referenceBackend(): Backend {
  return {
    kind: "reference",
    description: "reference",
    holdsHalf: true,
    async run(graph, feeds, outputs) {
      const values = evaluate(graph, new Map([...feeds].map(([id, f]) => [id, widened(f)] as const)));
      return new Map(outputs.map((id) => [id, values.get(id)!] as const));
    },
    async warmUp() {},
    close() {},
  };
}

export async function webgpuBackend(): Promise<Backend> {
  const { acquireDevice } = await import("../device/device.ts");
  const { createExecutor } = await import("../executor/executor.ts");
  const { createTrainer } = await import("../executor/trainer.ts");
  const { tunedExecutorOptions } = await import("../executor/autotune.ts");
  const device = await acquireDevice();
  const tuned = await tunedExecutorOptions(device);
  const executor = await createExecutor(device, tuned);
  const info = device.info;
  const warmed = new WeakSet<object>();
  return {
    kind: "webgpu",
    description: `webgpu (${info.description || info.device || info.vendor}${info.isCpu ? ", CPU" : ""})`,
    holdsHalf: device.features.includes("shader-f16"),
    run: (graph, feeds, outputs) => executor.evaluate(graph, feeds, outputs),
    async warmUp(graph, feeds, outputs) {
      const prepared = await executor.prepare(graph, outputs);
      if (warmed.has(prepared)) return;
      warmed.add(prepared);
      await executor.evaluate(graph, feeds, outputs);
      // The executor takes a run's time as the estimate to sleep through before the next readback; the
      // first run's includes shader compilation, so start the estimate afresh from the next (warm) run.
      prepared.wait.restart();
    },
    createTrainer: (graph, loss, grads, options) =>
      createTrainer(device, graph, loss, grads, { pipelines: executor.pipelines, ...tuned, ...options }),
    close() {
      executor.release();
      device.destroy();
    },
  };
}

/** The backend `kind` names; `auto`: WebGPU when an adapter exists, else the reference interpreter. */
export async function openBackend(
  kind: BackendKind,
  log: (message: string) => void = () => {},
): Promise<Backend> {
  if (kind === "reference") return referenceBackend();
  if (kind === "webgpu") return webgpuBackend();
  try {
    return await webgpuBackend();
  } catch (error) {
    log(`no WebGPU device (${(error as Error).message.split("\n")[0]}); using the reference interpreter`);
    return referenceBackend();
  }
}
