// The frozen backbone as `vlmp run` trains it (runtime/engine/step-runner.ts): the checkpoint's weights
// reach the device trainer (`frozen`) and the host path's backend as the immutable f32 feeds evaluation
// reads (one shared copy per checkpoint, no f64 one in the weight cache), the trained param as the
// cache's f64; and the steps equal those fed the same weights as f64. The device half is skipped with a
// printed reason without an adapter.

import { afterAll, describe, expect, it } from "vitest";
import { gradients } from "../../compiler/graph/autodiff.ts";
import { GraphBuilder } from "../../compiler/graph/builder.ts";
import type { Graph, ValueId } from "../../compiler/graph/graph.ts";
import { type ClipCheckpoint, loadClipCheckpoint } from "../../runtime/checkpoint/index.ts";
import { NoAdapterError } from "../../runtime/device/device.ts";
import { type Backend, referenceBackend, webgpuBackend } from "../../runtime/engine/backend.ts";
import { type Backbone, evaluationFeeds } from "../../runtime/engine/model.ts";
import { createOptimizer, type HostParam } from "../../runtime/engine/optimizer.ts";
import { type StepGraph, StepRunner } from "../../runtime/engine/step-runner.ts";
import type { TrainerOptions } from "../../runtime/executor/trainer.ts";
import { silentReporter } from "../../runtime/progress/reporter.ts";
import { type Feed, isImmutable, type Tensor, widened } from "../../runtime/reference/tensor.ts";

const MODEL = "models/tiny-clip-pretrained";
const FROZEN = "visual_projection.weight";
const TRAINED = "adapters.0.w";
const STEPS = 3;

async function webgpuOrSkip(): Promise<Backend | undefined> {
  try {
    return await webgpuBackend();
  } catch (e) {
    if (e instanceof NoAdapterError) {
      console.log(`step-runner-frozen.test.ts: device half skipped: ${e.message}`);
      return undefined;
    }
    throw e;
  }
}
const webgpu = process.env["VLMP_SKIP_GPU"] ? undefined : await webgpuOrSkip();
afterAll(() => webgpu?.close());

/** loss = mean((x · Wᵀ) ⊙ a)², W the checkpoint's [32, 64] projection (frozen), a [32] trained. */
function stepGraph(): { step: StepGraph; x: ValueId } {
  const b = new GraphBuilder();
  const x = b.input("x", [4, 64]);
  const w = b.param(FROZEN, [32, 64], { trainable: false });
  const a = b.param(TRAINED, [32]);
  const y = b.mul(b.matmul(x, w, { transB: true }), a);
  const loss = b.mean(b.mul(y, y), [0, 1]);
  b.output("loss", loss);
  const { graph, grads } = gradients(b.build(), loss.id);
  const step: StepGraph = {
    graph,
    batch: 4,
    loss: loss.id,
    grads: new Map([[TRAINED, grads.get(a.id)!]]),
    pixels: x.id,
    ids: x.id,
    slots: x.id,
    imageSize: 0,
    inputs: new Map(),
  };
  return { step, x: x.id };
}

/** Every param of `graph` as training fed it before: the weight cache's, else the checkpoint's as f64. */
function f64Feeds(graph: Graph, checkpoint: ClipCheckpoint, cache: ReadonlyMap<string, Tensor>) {
  return new Map([...evaluationFeeds(graph, checkpoint, cache)].map(([id, f]) => [id, widened(f)]));
}

/**
 * Trains STEPS steps on `backend`; the losses, the trained param after, and what reached the device.
 * `weights` "f64": the backend is given every param as f64 instead (f64Feeds), as a baseline.
 */
async function train(backend: Backend, weights: "f32" | "f64") {
  const checkpoint = loadClipCheckpoint(MODEL);
  const backbone = { checkpoint } as Backbone;
  const { step, x } = stepGraph();
  const trained: Tensor = { shape: [32], data: Float64Array.from({ length: 32 }, (_, i) => 0.5 + i / 64) };
  const weightCache = new Map<string, Tensor>([[TRAINED, trained]]);
  const hostParams = new Map<string, HostParam>([[TRAINED, { key: TRAINED, data: trained.data }]]);
  const frozen: Feed[] = [];
  const ran: Feed[] = [];
  // The backend as the runner sees it, noting the weights it is given.
  const seen: Backend = {
    ...backend,
    run: async (graph, feeds, outputs) => {
      ran.push(...feeds.values());
      const f64 = weights === "f64" ? f64Feeds(graph, checkpoint, weightCache) : new Map();
      return backend.run(graph, new Map([...feeds, ...f64]), outputs);
    },
    ...(backend.createTrainer && {
      createTrainer: (graph, loss, grads, options: TrainerOptions) => {
        frozen.push(...(options.frozen?.values() ?? []));
        const given = weights === "f64" ? f64Feeds(graph, checkpoint, weightCache) : options.frozen!;
        const kept = new Map([...given].filter(([id]) => !grads.has(id)));
        return backend.createTrainer!(graph, loss, grads, { ...options, frozen: kept });
      },
    }),
  };
  const runner = new StepRunner({
    backend: seen,
    backbone,
    weightCache,
    optimizer: createOptimizer({ $call: "optim.sgd", args: { lr: 0.05 } }, [TRAINED], () => []),
    hostParams,
    trainable: [TRAINED],
    reporter: silentReporter,
  });
  const input: Tensor = {
    shape: [4, 64],
    data: Float64Array.from({ length: 256 }, (_, i) => Math.sin(i)),
  };
  const losses: number[] = [];
  for (let s = 0; s < STEPS; s++)
    losses.push(await runner.step(step, new Map([[x, input]]), (lr) => lr, 4, { step: s, epoch: 0 }));
  await runner.finish();
  const w = step.graph.nodes.find((n) => n.op === "param" && n.attrs.name === FROZEN)!;
  const weight = evaluationFeeds(step.graph, checkpoint, weightCache).get(w.id)!;
  return { losses, trained: Array.from(trained.data), frozen, ran, weight, weightCache };
}

describe("the frozen backbone in training", () => {
  it("host path: the backend gets the checkpoint's f32 immutable weight, the trained param f64", async () => {
    const f32 = await train(referenceBackend(), "f32");
    const w = f32.ran.find((f) => f.shape.length === 2 && f.shape[0] === 32)!;
    expect(w.data).toBeInstanceOf(Float32Array);
    expect(isImmutable(w)).toBe(true);
    expect(w).toBe(f32.weight);
    expect([...f32.weightCache.keys()]).toEqual([TRAINED]);
    const a = f32.ran.find((f) => f.shape.length === 1 && f.shape[0] === 32)!;
    expect(a.data).toBeInstanceOf(Float64Array);
    expect(isImmutable(a)).toBe(false);

    const f64 = await train(referenceBackend(), "f64");
    expect(f32.losses).toEqual(f64.losses);
    expect(f32.trained).toEqual(f64.trained);
    expect(f32.losses.at(-1)!).toBeLessThan(f32.losses[0]!);
  });

  it.skipIf(!webgpu)("device path: the trainer's frozen weight is the f32 immutable feed", async () => {
    const f32 = await train(webgpu!, "f32");
    expect(f32.frozen).toHaveLength(1);
    expect(f32.frozen[0]!.data).toBeInstanceOf(Float32Array);
    expect(isImmutable(f32.frozen[0]!)).toBe(true);
    expect(f32.frozen[0]).toBe(f32.weight);
    expect([...f32.weightCache.keys()]).toEqual([TRAINED]);

    const f64 = await train(webgpu!, "f64");
    expect(f32.losses).toEqual(f64.losses);
    expect(f32.trained).toEqual(f64.trained);
    expect(f32.losses.at(-1)!).toBeLessThan(f32.losses[0]!);
  });
});
