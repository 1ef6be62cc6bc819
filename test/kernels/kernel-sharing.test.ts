// Fewer distinct shaders: kernels that differ only in size share one WGSL module (the pipeline cache's key),
// so a run with several batch sizes (training, evaluation, constants) compiles each once. Lowering only; no
// device needed.

import { describe, expect, it } from "vitest";
import { gradients } from "../../compiler/graph/autodiff.ts";
import { GraphBuilder } from "../../compiler/graph/builder.ts";
import { crossEntropy } from "../../compiler/graph/composites.ts";
import { linear } from "../../compiler/graph/layers.ts";
import { tileLabel } from "../../runtime/executor/autotune.ts";
import { type KernelPlan, lowerGraph } from "../../runtime/executor/lower.ts";
import {
  BROADCAST_TILES,
  DEFAULT_REGISTER_TILE,
  type MatmulSpec,
  matmulKernel,
  REGISTER_TILES,
  type RegisterTile,
} from "../../runtime/kernels/matmul.ts";
import { optimizerKernel } from "../../runtime/kernels/optimizer.ts";

/** The training plan (loss and every gradient) of a two-layer MLP (12 → 16 → 5) at batch `n`. */
function trainingPlan(n: number): KernelPlan {
  const b = new GraphBuilder();
  const x = b.input("x", [n, 12]);
  const y = b.input("y", [n], "i32");
  const w1 = b.param("l1.w", [16, 12]);
  const b1 = b.param("l1.b", [16]);
  const w2 = b.param("l2.w", [5, 16]);
  const b2 = b.param("l2.b", [5]);
  const loss = crossEntropy(b, linear(b, b.tanh(linear(b, x, w1, b1)), w2, b2), y);
  b.output("loss", loss);
  const { graph, grads } = gradients(b.build(), loss.id);
  return lowerGraph(graph, [loss.id, ...grads.values()]);
}

describe("kernels shared across sizes", () => {
  it("a training step at batch 24 adds only the kernels that bake the batch to those of batch 8", () => {
    const small = trainingPlan(8).steps;
    const large = trainingPlan(24).steps;
    expect(large.map((s) => s.kernel.name.replace(/24/g, "8"))).toEqual(small.map((s) => s.kernel.name));
    const shaders = new Set(small.map((s) => s.kernel.code));
    expect(shaders.size).toBe(24);
    const added = large.filter((s) => !shaders.has(s.kernel.code)).map((s) => s.kernel.name);
    // Sums over the batch (their trip count), the mean's 1/batch, the sparse scatter's exact count
    // and the weight gradients' products, whose k is the batch; the other products share their rows.
    expect(added).toEqual([
      "sum[24;axes=0+1ops]",
      "elementwise[1ops;]",
      "elementwise[1ops;]",
      "scatter_add_sparse[24x5@1]",
      "sum[24x5;axes=0]",
      "matmul_register[5x24x16;tA]",
      "sum[24x16;axes=0]",
      "matmul_register[16x24x12;tA]",
    ]);
  });

  /** [rows, k] x [k, n] at f32, or with the given changes. */
  const product = (m: number, k: number, n: number, more: Partial<MatmulSpec> = {}): MatmulSpec => ({
    aShape: [m, k],
    bShape: [k, n],
    transA: false,
    transB: false,
    shape: [m, n],
    ...more,
  });
  const shadersOf = (specs: readonly MatmulSpec[], tile: RegisterTile) =>
    new Set(specs.map((s) => matmulKernel(s, "register", tile).code)).size;
  const ROWS = [1, 7, 24, 97, 1600];

  for (const tile of [DEFAULT_REGISTER_TILE, ...REGISTER_TILES.slice(1), ...BROADCAST_TILES]) {
    const label = tileLabel(tile);
    it(`register matmuls (tile ${label}) that differ only in rows share one shader`, () => {
      const same = (make: (m: number) => MatmulSpec) => shadersOf(ROWS.map(make), tile);
      expect(same((m) => product(m, 768, 3072))).toBe(1);
      // Not multiples of 4 columns: C is stored as scalars.
      expect(same((m) => product(m, 37, 150))).toBe(1);
      expect(same((m) => product(m, 64, 4, { transA: true, aShape: [64, m] }))).toBe(1);
      expect(same((m) => product(m, 64, 48, { transB: true, bShape: [48, 64] }))).toBe(1);
      expect(same((m) => product(m, 64, 48, { transB: true, bShape: [48, 64], half: { b: true } }))).toBe(1);
      expect(same((m) => product(m, 64, 48, { half: { a: true } }))).toBe(1);
      // Batches that share B fold into rows: [batch, 197, k] is a product over batch * 197 rows.
      const batchOf17 = (b: number) => product(17, 64, 256, { aShape: [b, 17, 64], shape: [b, 17, 256] });
      expect(same(batchOf17)).toBe(1);
      expect(shadersOf([batchOf17(2), product(34, 64, 256)], tile)).toBe(1);
      // B of a batch of its own (attention's products): the batch count is read from the launch too
      // (from 2 on: an axis of 1 has no offset to compute).
      const perBatch = (batch: number[], t: number) =>
        product(t, 16, 17, {
          aShape: [...batch, t, 16],
          bShape: [...batch, 16, 17],
          shape: [...batch, t, 17],
        });
      expect(same((m) => perBatch([m + 1, 4], 17))).toBe(1);
      expect(same((m) => perBatch([3, 4], m))).toBe(1);
      // A broadcast over B's batches.
      expect(same((m) => product(m, 16, 17, { bShape: [5, 16, 17], shape: [5, m, 17] }))).toBe(1);
    });

    it(`register matmuls (tile ${label}) of other k, or fewer than 4 columns, do not share`, () => {
      expect(shadersOf([product(40, 64, 256), product(40, 65, 256)], tile)).toBe(2);
      // Under 4 columns C's padding may hold a whole row more: the row count is baked.
      for (const n of [1, 2, 3])
        expect(
          shadersOf(
            ROWS.map((m) => product(m, 64, n)),
            tile,
          ),
        ).toBe(ROWS.length);
    });
  }

  it("updates parameters of every size with one shader per optimizer", () => {
    const sgd = { kind: "sgd", lr: 0.1, momentum: 0.9 } as const;
    const shaders = new Set([5, 16, 80, 192, 1 << 20].map((n) => optimizerKernel(sgd, n).code));
    expect(shaders.size).toBe(1);
  });
});
