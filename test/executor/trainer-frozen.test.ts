// Frozen params on the device trainer (runtime/executor/trainer.ts `frozen`): given once at creation,
// they are written to the device then and never again (no step uploads them, and a trainer sharing the
// resident state reuses them), and the steps give exactly the losses and parameters of a trainer that
// is fed them every step; f32 values (checkpoint weights) are uploaded without a conversion copy.
// Skipped with a printed reason without an adapter.

import { afterAll, describe, expect, it } from "vitest";
import { gradients } from "../../compiler/graph/autodiff.ts";
import { GraphBuilder } from "../../compiler/graph/builder.ts";
import { crossEntropy } from "../../compiler/graph/composites.ts";
import type { ValueId } from "../../compiler/graph/graph.ts";
import { linear } from "../../compiler/graph/layers.ts";
import { halfWeights } from "../../compiler/graph/passes/half-weights.ts";
import { createTrainer, type Trainer } from "../../runtime/executor/trainer.ts";
import { roundToHalf } from "../../runtime/formats/half.ts";
import type { Tensor } from "../../runtime/reference/tensor.ts";
import { rng } from "../graph/helpers.ts";
import { deviceOrSkip } from "../kernels/helpers.ts";

const device = await deviceOrSkip("trainer-frozen.test.ts");
afterAll(() => device?.destroy());

const STEPS = 4;
const OPTIMIZER = { kind: "sgd", lr: 0.1, momentum: 0.9 } as const;

/**
 * A frozen first layer (`f.w`, `f.b`) under a trained head (`h.w`, `h.b`), cross-entropy over `n` rows;
 * `half`: as `precision = f16` builds it (f.w kept at f16).
 */
function stepGraph(n: number, half = false) {
  const b = new GraphBuilder();
  const x = b.input("x", [n, 6]);
  const y = b.input("y", [n], "i32");
  const fw = b.param("f.w", [8, 6], { trainable: false });
  const fb = b.param("f.b", [8], { trainable: false });
  const hw = b.param("h.w", [3, 8]);
  const hb = b.param("h.b", [3]);
  const loss = crossEntropy(b, linear(b, b.tanh(linear(b, x, fw, fb)), hw, hb), y);
  b.output("loss", loss);
  const forward = b.build();
  const { graph, grads } = gradients(half ? halfWeights(forward) : forward, loss.id);
  const r = rng(7);
  const uniform = (shape: number[]): Tensor => ({
    shape,
    data: Float64Array.from({ length: shape.reduce((a, d) => a * d, 1) }, () => r() * 2 - 1),
  });
  const frozen = new Map<ValueId, Tensor>([
    [fw.id, uniform([8, 6])],
    [fb.id, uniform([8])],
  ]);
  const init = new Map<ValueId, Tensor>([
    [hw.id, uniform([3, 8])],
    [hb.id, uniform([3])],
  ]);
  const batch = new Map<ValueId, Tensor>([
    [x.id, uniform([n, 6])],
    [y.id, { shape: [n], data: Float64Array.from({ length: n }, (_, i) => i % 3) }],
  ]);
  return { graph, grads, loss: loss.id, frozen, init, batch, fw: fw.id };
}

/** The labels of the buffers `queue.writeBuffer` writes while `body` runs, one per call. */
async function writesDuring<T>(body: () => Promise<T>): Promise<{ result: T; labels: string[] }> {
  const queue = device!.device.queue;
  const write = queue.writeBuffer;
  const labels: string[] = [];
  queue.writeBuffer = function (this: GPUQueue, buffer: GPUBuffer, ...rest: unknown[]) {
    labels.push(buffer.label);
    return (write as (...a: unknown[]) => undefined).call(this, buffer, ...rest);
  } as GPUQueue["writeBuffer"];
  try {
    return { result: await body(), labels };
  } finally {
    queue.writeBuffer = write;
  }
}

async function train(trainer: Trainer, feeds: ReadonlyMap<ValueId, Tensor>): Promise<number[]> {
  const losses: number[] = [];
  for (let s = 0; s < STEPS; s++) losses.push(await trainer.step(feeds));
  return losses;
}

describe.skipIf(!device)("frozen params on the device trainer", () => {
  it("are uploaded once at creation, and the steps equal those of a trainer fed them every step", async () => {
    const m = stepGraph(16);
    const fed = await createTrainer(device!, m.graph, m.loss, m.grads, { optimizer: OPTIMIZER });
    fed.setParams(m.init);
    const fedLosses = await train(fed, new Map([...m.batch, ...m.frozen]));
    const fedParams = await fed.readParams();
    fed.release();

    const created = await writesDuring(() =>
      createTrainer(device!, m.graph, m.loss, m.grads, { optimizer: OPTIMIZER, frozen: m.frozen }),
    );
    const kept = created.result;
    expect(created.labels.filter((l) => l === "vlmp frozen params")).toHaveLength(m.frozen.size);
    kept.setParams(m.init);
    // The batch alone: a step that still needed the frozen params would throw for the missing feed.
    const stepped = await writesDuring(() => train(kept, m.batch));
    expect(stepped.labels).not.toContain("vlmp frozen params");
    expect(stepped.labels.filter((l) => l.startsWith("vlmp arena"))).toHaveLength(STEPS * m.batch.size);
    expect(stepped.result).toEqual(fedLosses);
    expect(stepped.result.at(-1)!).toBeLessThan(stepped.result[0]!);
    const keptParams = await kept.readParams();
    for (const [id, t] of fedParams) expect(keptParams.get(id)!.data).toEqual(t.data);

    // A trainer of another batch size sharing the resident state reuses the frozen params on the device.
    const small = stepGraph(5);
    const shared = await writesDuring(() =>
      createTrainer(device!, small.graph, small.loss, small.grads, {
        optimizer: OPTIMIZER,
        share: kept,
        frozen: small.frozen,
      }),
    );
    expect(shared.labels).not.toContain("vlmp frozen params");
    const reference = await createTrainer(device!, small.graph, small.loss, small.grads, {
      optimizer: OPTIMIZER,
    });
    reference.writeState(await kept.readState());
    const sharedLoss = await shared.result.step(small.batch);
    expect(sharedLoss).toBe(await reference.step(new Map([...small.batch, ...small.frozen])));
    for (const t of [shared.result, reference, kept]) t.release();
  });

  it("holds a weight kept at f16 (precision = f16) and steps as the f32 graph given its rounded values", async () => {
    const half = stepGraph(12, true);
    expect(half.graph.nodes.find((n) => n.id === half.fw)!.dtype).toBe("f16");
    const kept = await createTrainer(device!, half.graph, half.loss, half.grads, {
      optimizer: OPTIMIZER,
      frozen: half.frozen,
    });
    kept.setParams(half.init);
    const halfLosses = await train(kept, half.batch);
    kept.release();

    const full = stepGraph(12);
    const rounded = new Map(full.frozen);
    const w = full.frozen.get(full.fw)!;
    rounded.set(full.fw, { shape: w.shape, data: Float64Array.from(w.data, roundToHalf) });
    const wide = await createTrainer(device!, full.graph, full.loss, full.grads, {
      optimizer: OPTIMIZER,
      frozen: rounded,
    });
    wide.setParams(full.init);
    expect(halfLosses).toEqual(await train(wide, full.batch));
    wide.release();
  });

  it("uploads f32 frozen values as they are, with the steps of the same values given as f64", async () => {
    const m = stepGraph(8);
    const asF32 = new Map(
      [...m.frozen].map(([id, t]) => [id, { shape: t.shape, data: Float32Array.from(t.data) }]),
    );
    const asF64 = new Map(
      [...asF32].map(([id, t]) => [id, { shape: t.shape, data: Float64Array.from(t.data) }]),
    );
    const wide = await createTrainer(device!, m.graph, m.loss, m.grads, {
      optimizer: OPTIMIZER,
      frozen: asF64,
    });
    wide.setParams(m.init);
    const wideLosses = await train(wide, m.batch);
    wide.release();

    const queue = device!.device.queue;
    const write = queue.writeBuffer;
    const uploaded: unknown[] = [];
    queue.writeBuffer = function (
      this: GPUQueue,
      buffer: GPUBuffer,
      offset: number,
      data: unknown,
      ...rest: unknown[]
    ) {
      if (buffer.label === "vlmp frozen params") uploaded.push(data);
      return (write as (...a: unknown[]) => undefined).call(this, buffer, offset, data, ...rest);
    } as GPUQueue["writeBuffer"];
    const narrow = await createTrainer(device!, m.graph, m.loss, m.grads, {
      optimizer: OPTIMIZER,
      frozen: asF32,
    }).finally(() => {
      queue.writeBuffer = write;
    });
    // The arrays themselves reach writeBuffer: no f32 copy is made of an f32 value.
    expect(uploaded).toHaveLength(asF32.size);
    for (const [k, t] of [...asF32.values()].entries()) expect(uploaded[k]).toBe(t.data);
    narrow.setParams(m.init);
    expect(await train(narrow, m.batch)).toEqual(wideLosses);
    narrow.release();
  });

  it("refuses a frozen value for a trained param", async () => {
    const m = stepGraph(4);
    const [trained] = m.init.keys();
    await expect(
      createTrainer(device!, m.graph, m.loss, m.grads, {
        optimizer: OPTIMIZER,
        frozen: new Map([[trained!, m.init.get(trained!)!]]),
      }),
    ).rejects.toThrow(/not a param without a gradient/);
  });
});
