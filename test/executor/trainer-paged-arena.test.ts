// A training arena cut into pages (runtime/executor/memory-plan.ts `pageBytes`; the device's maxBufferSize
// by default, which a full-depth ViT-B/16 step at batch 32 exceeds): one device buffer per page, and the
// steps give exactly the losses and parameters of the same trainer with one arena buffer. Skipped with a
// printed reason without an adapter.

import { afterAll, describe, expect, it } from "vitest";
import { gradients } from "../../compiler/graph/autodiff.ts";
import { GraphBuilder } from "../../compiler/graph/builder.ts";
import { crossEntropy } from "../../compiler/graph/composites.ts";
import type { ValueId } from "../../compiler/graph/graph.ts";
import { linear } from "../../compiler/graph/layers.ts";
import { createTrainer, type TrainerOptions } from "../../runtime/executor/trainer.ts";
import type { Tensor } from "../../runtime/reference/tensor.ts";
import { rng } from "../graph/helpers.ts";
import { deviceOrSkip } from "../kernels/helpers.ts";

const device = await deviceOrSkip("trainer-paged-arena.test.ts");
afterAll(() => device?.destroy());

const N = 24;
const STEPS = 3;

/** A two-layer MLP (12 → 16 → 5) under cross-entropy, with its initial parameters and one batch. */
function mlp() {
  const b = new GraphBuilder();
  const x = b.input("x", [N, 12]);
  const y = b.input("y", [N], "i32");
  const w1 = b.param("l1.w", [16, 12]);
  const b1 = b.param("l1.b", [16]);
  const w2 = b.param("l2.w", [5, 16]);
  const b2 = b.param("l2.b", [5]);
  const loss = crossEntropy(b, linear(b, b.tanh(linear(b, x, w1, b1)), w2, b2), y);
  b.output("loss", loss);
  const { graph, grads } = gradients(b.build(), loss.id);
  const r = rng(11);
  const uniform = (shape: number[]): Tensor => ({
    shape,
    data: Float64Array.from({ length: shape.reduce((a, d) => a * d, 1) }, () => r() * 2 - 1),
  });
  const init = new Map<ValueId, Tensor>([w1, b1, w2, b2].map((p) => [p.id, uniform([...p.shape])] as const));
  const batch = new Map<ValueId, Tensor>([
    [x.id, uniform([N, 12])],
    [y.id, { shape: [N], data: Float64Array.from({ length: N }, (_, i) => i % 5) }],
  ]);
  return { graph, grads, loss: loss.id, init, batch };
}

/** Losses and final parameters of STEPS steps, and the arena buffers the trainer created. */
async function train(options: Partial<TrainerOptions>) {
  const m = mlp();
  const gpu = device!.device;
  const create = gpu.createBuffer;
  const pages: string[] = [];
  gpu.createBuffer = function (this: GPUDevice, descriptor: GPUBufferDescriptor) {
    if (descriptor.label?.startsWith("vlmp arena")) pages.push(descriptor.label);
    return create.call(this, descriptor);
  } as GPUDevice["createBuffer"];
  let trainer: Awaited<ReturnType<typeof createTrainer>>;
  try {
    trainer = await createTrainer(device!, m.graph, m.loss, m.grads, {
      optimizer: { kind: "adamw", lr: 0.01, weightDecay: 0.01 },
      ...options,
    });
  } finally {
    gpu.createBuffer = create;
  }
  trainer.setParams(m.init);
  const losses: number[] = [];
  for (let s = 0; s < STEPS; s++) losses.push(await trainer.step(m.batch));
  const params = await trainer.readParams();
  trainer.release();
  return { losses, params, pages };
}

describe.skipIf(!device)("a paged training arena", () => {
  it("uses one buffer per page and trains exactly as one arena buffer does", async () => {
    const whole = await train({});
    const paged = await train({ arenaPageBytes: 2048 });
    expect(whole.pages).toHaveLength(1);
    expect(paged.pages.length).toBeGreaterThan(2);
    expect(paged.losses).toEqual(whole.losses);
    expect(paged.losses.at(-1)!).toBeLessThan(paged.losses[0]!);
    for (const [id, t] of whole.params) expect(paged.params.get(id)!.data).toEqual(t.data);
  });
});
