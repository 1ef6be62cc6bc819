// Property-based tests of the shape rules and broadcasting, each checked against what the
// reference interpreter actually produces, and of the errors the builder raises.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { GraphBuilder } from "../../compiler/graph/builder.ts";
import { GraphError } from "../../compiler/graph/errors.ts";
import type { Value } from "../../compiler/graph/graph.ts";
import { broadcastShapes, broadcastsTo } from "../../compiler/graph/shapes.ts";
import { verifyGraph } from "../../compiler/graph/verify.ts";
import { evaluate } from "../../runtime/reference/interpreter.ts";
import { numel, strides, type Tensor } from "../../runtime/reference/tensor.ts";

const dim = fc.integer({ min: 1, max: 4 });
const shape = (maxRank = 4) => fc.array(dim, { maxLength: maxRank });
const RUNS = { numRuns: 60 };

/** A tensor holding 0, 1, 2, ... so every element is identifiable. */
function iotaTensor(s: readonly number[]): Tensor {
  return { shape: [...s], data: Float64Array.from({ length: numel(s) }, (_, i) => i) };
}

/** Evaluates `f` applied to inputs with the given shapes, checking the result's shape against the node's. */
function run(shapes: readonly (readonly number[])[], f: (b: GraphBuilder, xs: Value[]) => Value): Tensor {
  const b = new GraphBuilder();
  const xs = shapes.map((s, i) => b.input(`x${i}`, s));
  const out = f(b, xs);
  const g = b.build();
  verifyGraph(g);
  const t = evaluate(g, new Map(xs.map((x) => [x.id, iotaTensor(x.shape)]))).get(out.id)!;
  expect(t.shape).toEqual(out.shape);
  expect(t.data.length).toBe(numel(out.shape));
  return t;
}

/** A shape and another that broadcasts with it (leading axes dropped, some axes set to 1). */
const broadcastPair = shape().chain((s) =>
  fc
    .tuple(
      fc.constant(s),
      fc.integer({ min: 0, max: s.length }),
      fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }),
    )
    .map(([full, drop, ones]) => [full, full.slice(drop).map((d, i) => (ones[i] ? 1 : d))] as const),
);

describe("broadcasting", () => {
  it("is symmetric, and both operands broadcast to the result", () => {
    fc.assert(
      fc.property(broadcastPair, ([a, c]) => {
        const out = broadcastShapes(a, c);
        expect(broadcastShapes(c, a)).toEqual(out);
        expect(broadcastsTo(a, out) && broadcastsTo(c, out)).toBe(true);
        expect(out).toEqual(a);
      }),
      RUNS,
    );
  });

  it("elementwise ops read each operand at the broadcast position", () => {
    fc.assert(
      fc.property(broadcastPair, ([a, c]) => {
        const t = run([a, c], (b, [x, y]) => b.add(b.mul(x!, 1000), y!));
        const sa = strides(a);
        const lead = a.length - c.length;
        const sc = strides(c);
        for (let flat = 0; flat < t.data.length; flat++) {
          const idx = a.map((_, i) => Math.floor(flat / sa[i]!) % a[i]!);
          const ci = c.reduce((acc, d, i) => acc + (d === 1 ? 0 : idx[lead + i]!) * sc[i]!, 0);
          expect(t.data[flat]).toBe(flat * 1000 + ci);
        }
      }),
      RUNS,
    );
  });

  it("rejects incompatible shapes with a shape error", () => {
    expect(() => broadcastShapes([2, 3], [4, 3])).toThrow(GraphError);
    const b = new GraphBuilder();
    expect(() => b.add(b.input("x", [2, 3]), b.input("y", [4, 3]))).toThrow(
      expect.objectContaining({ kind: "shape" }),
    );
  });
});

describe("shape rules agree with the interpreter", () => {
  it("reductions drop or keep the reduced axes; sum preserves the total", () => {
    fc.assert(
      fc.property(
        shape(),
        fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }),
        fc.boolean(),
        (s, pick, keepdims) => {
          const axes = s.flatMap((_, i) => (pick[i] ? [i] : []));
          const t = run([s], (b, [x]) => b.sum(x!, axes, keepdims));
          expect(t.shape).toEqual(
            keepdims ? s.map((d, i) => (pick[i] ? 1 : d)) : s.filter((_, i) => !pick[i]),
          );
          const n = numel(s);
          expect(t.data.reduce((p, v) => p + v, 0)).toBe((n * (n - 1)) / 2);
          run([s], (b, [x]) => b.max(x!, axes, keepdims));
          run([s], (b, [x]) => b.argmax(x!, axes, keepdims));
        },
      ),
      RUNS,
    );
  });

  it("permute then its inverse is the identity", () => {
    fc.assert(
      fc.property(
        shape().chain((s) =>
          fc.tuple(
            fc.constant(s),
            fc.shuffledSubarray(
              s.map((_, i) => i),
              { minLength: s.length },
            ),
          ),
        ),
        ([s, perm]) => {
          const inverse = perm.map((_, i) => perm.indexOf(i));
          const t = run([s], (b, [x]) => b.permute(b.permute(x!, perm), inverse));
          expect(Array.from(t.data)).toEqual(Array.from(iotaTensor(s).data));
        },
      ),
      RUNS,
    );
  });

  it("slice has ceil((end - start) / step) elements per axis and pad with interior undoes it", () => {
    const sliced = shape(3).chain((s) =>
      fc.tuple(
        fc.constant(s),
        fc.tuple(
          ...s.map((d) => fc.tuple(fc.integer({ min: 0, max: d - 1 }), fc.integer({ min: 1, max: 3 }))),
        ),
      ),
    );
    fc.assert(
      fc.property(sliced, ([s, spec]) => {
        const starts = spec.map(([st]) => st);
        const steps = spec.map(([, step]) => step);
        const t = run([s], (b, [x]) => b.slice(x!, starts, s, steps));
        expect(t.shape).toEqual(s.map((d, i) => Math.ceil((d - starts[i]!) / steps[i]!)));
      }),
      RUNS,
    );
  });

  it("pad adds before + after + interior * (n - 1) per axis", () => {
    fc.assert(
      fc.property(shape(3), fc.nat(2), fc.nat(2), fc.nat(2), (s, lo, hi, mid) => {
        const t = run([s], (b, [x]) =>
          b.pad(
            x!,
            s.map(() => lo),
            s.map(() => hi),
            -1,
            s.map(() => mid),
          ),
        );
        expect(t.shape).toEqual(s.map((d) => lo + hi + d + mid * (d - 1)));
        expect(t.data.filter((v) => v >= 0).length).toBe(numel(s));
      }),
      RUNS,
    );
  });

  it("concat adds sizes along its axis and keeps each operand's values in order", () => {
    fc.assert(
      fc.property(
        shape(3).filter((s) => s.length > 0),
        fc.array(dim, { minLength: 1, maxLength: 3 }),
        (s, sizes) => {
          const shapes = sizes.map((k) => [k, ...s.slice(1)]);
          const t = run(shapes, (b, xs) => b.concat(xs, 0));
          expect(t.shape).toEqual([sizes.reduce((p, k) => p + k, 0), ...s.slice(1)]);
        },
      ),
      RUNS,
    );
  });

  it("matmul contracts the inner axes with either operand transposed and broadcasts batches", () => {
    fc.assert(
      fc.property(
        broadcastPair,
        dim,
        dim,
        dim,
        fc.boolean(),
        fc.boolean(),
        ([batchA, batchB], m, k, n, ta, tb) => {
          const a = [...batchA, ...(ta ? [k, m] : [m, k])];
          const c = [...batchB, ...(tb ? [n, k] : [k, n])];
          const t = run([a, c], (b, [x, y]) => b.matmul(x!, y!, { transA: ta, transB: tb }));
          expect(t.shape).toEqual([...broadcastShapes(batchA, batchB), m, n]);
        },
      ),
      RUNS,
    );
    expect(() =>
      run(
        [
          [2, 3],
          [4, 5],
        ],
        (b, [x, y]) => b.matmul(x!, y!),
      ),
    ).toThrow(/inner sizes differ/);
  });

  it("gather puts the index shape in place of the gathered axis", () => {
    fc.assert(
      fc.property(
        shape(3).filter((s) => s.length > 0),
        shape(2),
        fc.nat(),
        (s, idxShape, pick) => {
          const axis = pick % s.length;
          const t = run([s], (b, [x]) => {
            const idx = b.constant(
              Array.from({ length: numel(idxShape) }, (_, i) => i % s[axis]!),
              idxShape,
              "i32",
            );
            return b.gather(x!, idx, axis);
          });
          expect(t.shape).toEqual([...s.slice(0, axis), ...idxShape, ...s.slice(axis + 1)]);
        },
      ),
      RUNS,
    );
  });

  it("reshape keeps the element count and the row-major order", () => {
    fc.assert(
      fc.property(shape(), (s) => {
        const t = run([s], (b, [x]) => b.reshape(x!, [numel(s)]));
        expect(Array.from(t.data)).toEqual(Array.from(iotaTensor(s).data));
      }),
      RUNS,
    );
  });
});

describe("builder errors", () => {
  const span = { file: "losses.vlmp", line: 12, col: 5, endLine: 12, endCol: 30 };

  it("carry the span of the expression being lowered and a stable code", () => {
    const b = new GraphBuilder();
    const x = b.input("x", [2, 3]);
    const y = b.input("y", [3, 4]);
    try {
      b.withSpan(span, () => b.add(x, y));
      expect.fail("expected a shape error");
    } catch (e) {
      expect(e).toBeInstanceOf(GraphError);
      const err = e as GraphError;
      expect(err.span).toEqual(span);
      expect(err.code).toBe("V4201");
      expect(err.message).toMatch(/^losses\.vlmp:12:5: cannot broadcast/);
    }
    const ok = b.withSpan(span, () => b.matmul(x, y));
    expect(b.node(ok.id).span).toEqual(span);
  });

  it("reject wrong dtypes, arity, axes and attributes", () => {
    const b = new GraphBuilder();
    const x = b.input("x", [2, 3]);
    const i = b.input("i", [2], "i32");
    expect(() => b.exp(i)).toThrow(expect.objectContaining({ kind: "dtype" }));
    expect(() => b.add(x, i)).toThrow(expect.objectContaining({ kind: "dtype" }));
    expect(() => b.apply("add", [x], {})).toThrow(expect.objectContaining({ kind: "arity" }));
    expect(() => b.sum(x, [2])).toThrow(/out of range/);
    expect(() => b.applyByName("sum", [x], { axes: [0] })).toThrow(/missing attribute 'keepdims'/);
    expect(() => b.applyByName("sum", [x], { axes: "0", keepdims: false })).toThrow(/'axes' must be ints/);
    expect(() => b.applyByName("frobnicate", [x], {})).toThrow(/unknown op/);
    expect(b.applyByName("sum", [x], { axes: [-1], keepdims: false }).shape).toEqual([2]);
  });
});
