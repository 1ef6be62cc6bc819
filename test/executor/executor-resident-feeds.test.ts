// Weights resident across runs (runtime/executor/executor.ts): an immutable param fed again as the same
// object is not written again, and the outputs are bit for bit those of an executor that uploads every
// feed; a new object, or an unmarked one written in place, is uploaded. Skipped with a printed reason
// without an adapter.

import { afterAll, describe, expect, it } from "vitest";
import { GraphBuilder } from "../../compiler/graph/builder.ts";
import type { ValueId } from "../../compiler/graph/graph.ts";
import { linear } from "../../compiler/graph/layers.ts";
import { createExecutor, type Executor } from "../../runtime/executor/executor.ts";
import { type Feed, markImmutable, type Tensor } from "../../runtime/reference/tensor.ts";
import { rng } from "../graph/helpers.ts";
import { deviceOrSkip } from "../kernels/helpers.ts";

const device = await deviceOrSkip("executor-resident-feeds.test.ts");
afterAll(() => device?.destroy());

const N = 8;
const r = rng(11);
const uniform = (shape: readonly number[]): Tensor => ({
  shape,
  data: Float64Array.from({ length: shape.reduce((a, d) => a * d, 1) }, () => Math.fround(r() * 2 - 1)),
});

/** Two linear layers (12 → 32 → 5): one input, four params. */
function mlp() {
  const b = new GraphBuilder();
  const x = b.input("x", [N, 12]);
  const w1 = b.param("l1.w", [32, 12]);
  const b1 = b.param("l1.b", [32]);
  const w2 = b.param("l2.w", [5, 32]);
  const b2 = b.param("l2.b", [5]);
  b.output("y", linear(b, b.tanh(linear(b, x, w1, b1)), w2, b2));
  return { graph: b.build(), x: x.id, w1: w1.id, b1: b1.id, w2: w2.id, b2: b2.id };
}

const m = mlp();
const bytes = (shape: readonly number[]) =>
  Math.max(16, Math.ceil((shape.reduce((a, d) => a * d, 1) * 4) / 16) * 16);
const xBytes = bytes([N, 12]);

/** Copies of `feeds` as new unmarked objects: an executor uploads every one of them. */
const unmarked = (feeds: ReadonlyMap<ValueId, Feed>) =>
  new Map([...feeds].map(([id, f]) => [id, { shape: f.shape, data: f.data.slice() }] as const));

async function output(executor: Executor, feeds: ReadonlyMap<ValueId, Feed>): Promise<Float64Array> {
  return (await executor.evaluate(m.graph, feeds)).values().next().value!.data;
}

describe.skipIf(!device)("resident weights", () => {
  it("keeps an immutable param's upload, uploads new and unmarked ones, and gives the same outputs", async () => {
    const executor = await createExecutor(device!);
    const plain = await createExecutor(device!);
    const uploadingAll = (feeds: ReadonlyMap<ValueId, Feed>) => output(plain, unmarked(feeds));
    try {
      const weights = new Map<ValueId, Feed>(
        [m.w1, m.b1, m.w2].map((id) => {
          const n = m.graph.nodes.find((v) => v.id === id)!;
          return [id, markImmutable(uniform(n.shape))] as const;
        }),
      );
      const b2 = uniform([5]); // unmarked: its owner may write it in place
      const feeds = new Map<ValueId, Feed>([...weights, [m.b2, b2], [m.x, uniform([N, 12])]]);

      // No other value is ever placed over a param's bytes.
      const prepared = await executor.prepare(m.graph);
      expect([...prepared.keepable].sort()).toEqual([m.w1, m.b1, m.w2, m.b2].sort());
      for (const p of prepared.keepable) {
        const at = prepared.memory.offsets.get(p)!;
        const end = at + prepared.plan.values.get(p)!.bytes;
        for (const v of prepared.plan.values.values()) {
          if (v.id === p) continue;
          const lo = prepared.memory.offsets.get(v.id)!;
          expect(lo + v.bytes <= at || lo >= end, `%${v.id} overlaps param %${p}`).toBe(true);
        }
      }

      expect(await output(executor, feeds)).toEqual(await uploadingAll(feeds));
      expect(executor.uploads).toEqual({ written: 5, bytes: expect.any(Number), kept: 0 });
      const first = executor.uploads.bytes;

      // A new batch: only the input and the unmarked param go up.
      feeds.set(m.x, uniform([N, 12]));
      expect(await output(executor, feeds)).toEqual(await uploadingAll(feeds));
      expect(executor.uploads.written).toBe(7);
      expect(executor.uploads.kept).toBe(3);
      expect(executor.uploads.bytes - first).toBe(xBytes + bytes([5]));

      // A new object (trained weights handed over) is uploaded and used.
      const before = await output(executor, feeds);
      feeds.set(m.w1, markImmutable(uniform([32, 12])));
      const changed = await output(executor, feeds);
      expect(changed).not.toEqual(before);
      expect(changed).toEqual(await uploadingAll(feeds));
      expect(executor.uploads.kept).toBe(3 + 3 + 2);

      // The unmarked param written in place: its new values are used.
      b2.data.fill(3);
      const shifted = await output(executor, feeds);
      expect(shifted).not.toEqual(changed);
      expect(shifted).toEqual(await uploadingAll(feeds));
    } finally {
      executor.release();
      plain.release();
    }
  });
});
