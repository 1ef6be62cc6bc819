// Optimizer kernels updating resident parameters in place: N training steps on the device (params
// and optimizer state never leave it; only the loss is read back) equal N steps of the reference
// optimizer (runtime/reference/optimizer.ts) on the interpreter's gradients, within tolerance.

import { afterAll, describe, expect, it } from "vitest";
import { gradients } from "../../compiler/graph/autodiff.ts";
import { GraphBuilder } from "../../compiler/graph/builder.ts";
import { crossEntropy } from "../../compiler/graph/composites.ts";
import type { ValueId } from "../../compiler/graph/graph.ts";
import { linear } from "../../compiler/graph/layers.ts";
import { createTrainer } from "../../runtime/executor/trainer.ts";
import type { OptimizerSpec } from "../../runtime/kernels/optimizer.ts";
import { evaluate } from "../../runtime/reference/interpreter.ts";
import { adadelta, adamw, type Optimizer, sgd } from "../../runtime/reference/optimizer.ts";
import type { Tensor } from "../../runtime/reference/tensor.ts";
import { rng } from "../graph/helpers.ts";
import { deviceOrSkip, expectClose, randomData } from "./helpers.ts";

const device = await deviceOrSkip("optimizer.test.ts");
afterAll(() => device?.destroy());

const STEPS = 6;

function model() {
  const b = new GraphBuilder();
  const x = b.input("x", [16, 5]);
  const y = b.input("y", [16], "i32");
  const w1 = b.param("w1", [7, 5]);
  const b1 = b.param("b1", [7]);
  const w2 = b.param("w2", [3, 7]);
  const loss = crossEntropy(b, linear(b, b.tanh(linear(b, x, w1, b1)), w2), y);
  b.output("loss", loss);
  const { graph, grads } = gradients(b.build(), loss.id);
  const r = rng(9);
  const init = new Map<ValueId, Tensor>(
    [w1, b1, w2].map((p) => [
      p.id,
      {
        shape: p.shape,
        data: randomData(
          r,
          p.shape.reduce((a, d) => a * d, 1),
        ),
      },
    ]),
  );
  const feeds = new Map<ValueId, Tensor>([
    [x.id, { shape: [16, 5], data: randomData(r, 80, -2, 2) }],
    [y.id, { shape: [16], data: Float64Array.from({ length: 16 }, (_, i) => i % 3) }],
  ]);
  return { graph, grads, loss: loss.id, init, feeds };
}

const CASES: [string, OptimizerSpec, () => Optimizer][] = [
  [
    "SGD (momentum, dampening, weight decay)",
    { kind: "sgd", lr: 0.1, momentum: 0.9, dampening: 0.1, weightDecay: 1e-2 },
    () => sgd({ lr: 0.1, momentum: 0.9, dampening: 0.1, weightDecay: 1e-2 }),
  ],
  [
    "SGD (Nesterov)",
    { kind: "sgd", lr: 0.05, momentum: 0.8, nesterov: true },
    () => sgd({ lr: 0.05, momentum: 0.8, nesterov: true }),
  ],
  ["SGD (plain)", { kind: "sgd", lr: 0.2 }, () => sgd({ lr: 0.2 })],
  ["AdamW", { kind: "adamw", lr: 0.01, weightDecay: 0.05 }, () => adamw({ lr: 0.01, weightDecay: 0.05 })],
  [
    "Adadelta (METHODS §4.4: lr 0.15, weight decay 1e-3)",
    { kind: "adadelta", lr: 0.15, weightDecay: 1e-3 },
    () => adadelta({ lr: 0.15, weightDecay: 1e-3 }),
  ],
];

describe.skipIf(!device)("optimizer kernels with resident parameters", () => {
  it.each(CASES)("%s: N device steps = N reference steps", async (_name, spec, reference) => {
    const m = model();
    const trainer = await createTrainer(device!, m.graph, m.loss, m.grads, { optimizer: spec });
    trainer.setParams(m.init);
    const deviceLosses: number[] = [];
    for (let s = 0; s < STEPS; s++) deviceLosses.push(await trainer.step(m.feeds));
    const onDevice = await trainer.readParams();
    trainer.release();

    const params = new Map(
      [...m.init].map(([id, t]) => [id, { shape: t.shape, data: Float64Array.from(t.data) }]),
    );
    const opt = reference();
    const hostLosses: number[] = [];
    for (let s = 0; s < STEPS; s++) {
      const values = evaluate(m.graph, new Map([...m.feeds, ...params]));
      hostLosses.push(values.get(m.loss)!.data[0]!);
      opt.step(params, new Map([...m.grads].map(([p, g]) => [p, values.get(g)!])));
    }
    for (let s = 0; s < STEPS; s++)
      expect(Math.abs(deviceLosses[s]! - hostLosses[s]!)).toBeLessThan(2e-5 * (1 + s));
    expect(deviceLosses.at(-1)!).toBeLessThan(deviceLosses[0]!);
    for (const [id, t] of params)
      expectClose(onDevice.get(id)!, t, { rtol: 1e-4, atol: 2e-5 }, `param %${id}`);
    expect(trainer.dispatches).toBeGreaterThan(3);
  });
});
