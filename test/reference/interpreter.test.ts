// The reference primitives on small hand-checked cases, and the interpreter's feed handling.

import { describe, expect, it } from "vitest";
import { GraphBuilder } from "../../compiler/graph/builder.ts";
import type { Value } from "../../compiler/graph/graph.ts";
import { erf } from "../../runtime/reference/elementwise.ts";
import { evaluate } from "../../runtime/reference/interpreter.ts";
import { tensor } from "../../runtime/reference/tensor.ts";
import { expectClose, randomTensor, rng } from "../graph/helpers.ts";

/** Values of `outs` in a graph without feeds. */
function values(b: GraphBuilder, ...outs: Value[]): number[][] {
  const v = evaluate(b.build(), new Map());
  return outs.map((o) => Array.from(v.get(o.id)!.data));
}

describe("reference primitives", () => {
  it("erf matches tabulated values to float64 precision", () => {
    const table: [number, number][] = [
      [0, 0],
      [0.5, 0.5204998778130465],
      [1, 0.8427007929497149],
      [2, 0.9953222650189527],
      [3.5, 0.9999992569016276],
      [-1, -0.8427007929497149],
    ];
    for (const [x, want] of table) expect(Math.abs(erf(x) - want)).toBeLessThanOrEqual(4 * Number.EPSILON);
  });

  it("sigmoid and softplus stay finite far from zero", () => {
    const b = new GraphBuilder();
    const x = b.constant([-800, -30, 0, 30, 800], [5]);
    const [s, sp] = values(b, b.sigmoid(x), b.softplus(x));
    expectClose(s!, [0, 1 / (1 + Math.exp(30)), 0.5, 1 / (1 + Math.exp(-30)), 1], 0, 1e-15);
    expectClose(sp!, [0, Math.log1p(Math.exp(-30)), Math.LN2, 30 + Math.log1p(Math.exp(-30)), 800], 1e-15);
  });

  it("max and argmax reduce over several axes; argmax takes the first maximum row-major", () => {
    const b = new GraphBuilder();
    const x = b.constant([1, 9, 3, 9, 0, 2, 5, 4, 8, 7, 6, 8], [2, 2, 3]);
    const [m, a, a0] = values(b, b.max(x, [1, 2]), b.argmax(x, [1, 2]), b.argmax(x, [0], true));
    expect(m).toEqual([9, 8]);
    expect(a).toEqual([1, 2]);
    expect(a0).toEqual([1, 0, 1, 0, 1, 1]);
  });

  it("slice with steps, pad with interior, concat and iota", () => {
    const b = new GraphBuilder();
    const x = b.constant([0, 1, 2, 3, 4, 5, 6], [7]);
    const [s, p, c, i] = values(
      b,
      b.slice(x, [1], [7], [3]),
      b.pad(b.constant([1, 2, 3], [3]), [1], [2], 0, [1]),
      b.concat([b.constant([1, 2], [1, 2]), b.constant([3, 4, 5, 6], [2, 2])], 0),
      b.iota([2, 3], 0),
    );
    expect(s).toEqual([1, 4]);
    expect(p).toEqual([0, 1, 0, 2, 0, 3, 0, 0]);
    expect(c).toEqual([1, 2, 3, 4, 5, 6]);
    expect(i).toEqual([0, 0, 0, 1, 1, 1]);
  });

  it("gather, take_along_axis and scatter_add index as documented", () => {
    const b = new GraphBuilder();
    const table = b.constant([10, 11, 20, 21, 30, 31], [3, 2]);
    const idx = b.constant([2, 0, 2], [3], "i32");
    const along = b.constant([1, 0, 1], [3, 1], "i32");
    const [g, t, s] = values(
      b,
      b.gather(table, idx, 0),
      b.takeAlongAxis(table, along, 1),
      b.scatterAdd(b.full([3, 2], 0), along, b.constant([1, 2, 3], [3, 1]), 1),
    );
    expect(g).toEqual([30, 31, 10, 11, 30, 31]);
    expect(t).toEqual([11, 20, 31]);
    expect(s).toEqual([0, 1, 2, 0, 0, 3]);
    const bad = new GraphBuilder();
    bad.gather(bad.constant([1, 2], [2]), bad.constant([2], [1], "i32"), 0);
    expect(() => evaluate(bad.build(), new Map())).toThrow(/index 2 out of range/);
  });

  it("matmul with transposes and broadcast batches equals the naive triple loop", () => {
    const r = rng(5);
    const at = randomTensor(r, [2, 1, 4, 3]);
    const bt = randomTensor(r, [3, 5, 4]);
    const b = new GraphBuilder();
    const a = b.input("a", at.shape);
    const c = b.input("b", bt.shape);
    const y = b.matmul(a, c, { transA: true, transB: true });
    expect(y.shape).toEqual([2, 3, 3, 5]);
    const out = evaluate(
      b.build(),
      new Map([
        [a.id, at],
        [c.id, bt],
      ]),
    ).get(y.id)!.data;
    for (let p = 0; p < 2; p++)
      for (let q = 0; q < 3; q++)
        for (let i = 0; i < 3; i++)
          for (let j = 0; j < 5; j++) {
            let s = 0;
            for (let k = 0; k < 4; k++) s += at.data[p * 12 + k * 3 + i]! * bt.data[q * 20 + j * 4 + k]!;
            expect(out[((p * 3 + q) * 3 + i) * 5 + j]).toBeCloseTo(s, 14);
          }
  });

  it("select, comparisons and casts", () => {
    const b = new GraphBuilder();
    const x = b.constant([-1.5, 0, 2.7], [3]);
    const [sel, cmp, toInt, toBool] = values(
      b,
      b.select(b.gt(x, 0), x, -9),
      b.cast(b.le(x, 0), "f32"),
      b.cast(x, "i32"),
      b.cast(x, "bool"),
    );
    expect(sel).toEqual([-9, -9, 2.7]);
    expect(cmp).toEqual([1, 1, 0]);
    expect(toInt).toEqual([-1, 0, 2]);
    expect(toBool).toEqual([1, 0, 1]);
  });

  it("checks feeds: every input needs one, of the declared shape", () => {
    const b = new GraphBuilder();
    const x = b.input("x", [2]);
    b.neg(x);
    const g = b.build();
    expect(() => evaluate(g, new Map())).toThrow(/'x' \(%0\) has no feed/);
    expect(() => evaluate(g, new Map([[x.id, tensor([3], [1, 2, 3])]]))).toThrow(/expected \[2\]/);
  });
});
