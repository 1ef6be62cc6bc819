// Every primitive's VJP rule against central finite differences, on random shapes. The case
// table is typed over every op, so a new op without a gradient check fails to compile.

import { describe, expect, it } from "vitest";
import { gradients } from "../../compiler/graph/autodiff.ts";
import { GraphBuilder } from "../../compiler/graph/builder.ts";
import type { Value, ValueId } from "../../compiler/graph/graph.ts";
import { OPS, type Op, type OpOf } from "../../compiler/graph/ops.ts";
import { VJP_RULES } from "../../compiler/graph/vjp-rules.ts";
import { evaluate } from "../../runtime/reference/interpreter.ts";
import type { Tensor } from "../../runtime/reference/tensor.ts";
import { checkGradients, randInt, randomShape, randomTensor, rng } from "./helpers.ts";

interface Case {
  readonly b: GraphBuilder;
  readonly params: { value: Value; data: Tensor }[];
  readonly output: Value;
}
type CaseMaker = (r: () => number) => Case;

/** A builder with a helper that adds a trainable param holding random values in [lo, hi]. */
function setup(r: () => number) {
  const b = new GraphBuilder();
  const params: { value: Value; data: Tensor }[] = [];
  const param = (shape: readonly number[], lo = -1, hi = 1) => {
    const value = b.param(`p${params.length}`, shape);
    params.push({ value, data: randomTensor(r, shape, lo, hi) });
    return value;
  };
  return { b, params, param };
}

/** A shape that broadcasts to `out`: some leading axes dropped, some axes set to 1. */
function broadcastable(r: () => number, out: readonly number[]): number[] {
  return out.slice(randInt(r, 0, out.length)).map((d) => (r() < 0.3 ? 1 : d));
}

const unary =
  (op: Exclude<OpOf<"unary">, "cast">, lo = -1, hi = 1): CaseMaker =>
  (r) => {
    const { b, params, param } = setup(r);
    return { b, params, output: b.unary(op, param(randomShape(r), lo, hi)) };
  };

const binary =
  (op: OpOf<"binary">, lo = -1, hi = 1): CaseMaker =>
  (r) => {
    const { b, params, param } = setup(r);
    const out = randomShape(r);
    const [x, y] = r() < 0.5 ? [out, broadcastable(r, out)] : [broadcastable(r, out), out];
    return { b, params, output: b.binary(op, param(x, lo, hi), param(y, lo, hi)) };
  };

const reduction =
  (op: "sum" | "max"): CaseMaker =>
  (r) => {
    const { b, params, param } = setup(r);
    const x = param(randomShape(r, 1, 3));
    const axes = x.shape.flatMap((_, i) => (r() < 0.5 ? [i - (r() < 0.5 ? x.shape.length : 0)] : []));
    return { b, params, output: b.apply(op, [x], { axes, keepdims: r() < 0.5 }) };
  };

const CASES: { readonly [K in Op]: CaseMaker | "nondiff" } = {
  input: "nondiff",
  param: "nondiff",
  constant: "nondiff",
  full: "nondiff",
  iota: "nondiff",
  random_uniform: "nondiff",
  random_normal: "nondiff",
  neg: unary("neg"),
  exp: unary("exp"),
  log: unary("log", 0.2, 2),
  sqrt: unary("sqrt", 0.2, 2),
  rsqrt: unary("rsqrt", 0.2, 2),
  reciprocal: unary("reciprocal", 0.2, 2),
  tanh: unary("tanh"),
  sigmoid: unary("sigmoid", -3, 3),
  softplus: unary("softplus", -3, 3),
  abs: unary("abs"),
  erf: unary("erf", -2, 2),
  relu: unary("relu"),
  sin: unary("sin", -3, 3),
  cos: unary("cos", -3, 3),
  sign: "nondiff",
  floor: "nondiff",
  // An f32 -> f32 cast: through f16 the values round (the reference rounds f16 as the device stores it),
  // where finite differences see steps; that case has its own test below.
  cast: (r) => {
    const { b, params, param } = setup(r);
    return { b, params, output: b.apply("cast", [param(randomShape(r))], { dtype: "f32" }) };
  },
  stop_gradient: "nondiff",
  add: binary("add"),
  sub: binary("sub"),
  mul: binary("mul"),
  div: binary("div", 0.5, 2),
  pow: binary("pow", 0.5, 2),
  maximum: binary("maximum"),
  minimum: binary("minimum"),
  eq: "nondiff",
  ne: "nondiff",
  lt: "nondiff",
  le: "nondiff",
  gt: "nondiff",
  ge: "nondiff",
  select: (r) => {
    const { b, params, param } = setup(r);
    const out = randomShape(r);
    const condShape = broadcastable(r, out);
    const cond = b.gt(b.constant(Array.from(randomTensor(r, condShape).data), condShape), 0);
    return { b, params, output: b.select(cond, param(broadcastable(r, out)), param(out)) };
  },
  sum: reduction("sum"),
  max: reduction("max"),
  argmax: "nondiff",
  reshape: (r) => {
    const { b, params, param } = setup(r);
    const x = param(randomShape(r, 1, 3));
    return { b, params, output: b.reshape(x, [x.shape.reduce((p, d) => p * d, 1), 1]) };
  },
  permute: (r) => {
    const { b, params, param } = setup(r);
    const x = param(randomShape(r, 1, 4));
    const perm = x.shape.map((_, i) => i).sort(() => r() - 0.5);
    return { b, params, output: b.apply("permute", [x], { perm }) };
  },
  broadcast: (r) => {
    const { b, params, param } = setup(r);
    const out = randomShape(r, 1, 3);
    return { b, params, output: b.apply("broadcast", [param(broadcastable(r, out))], { shape: out }) };
  },
  slice: (r) => {
    const { b, params, param } = setup(r);
    const x = param(randomShape(r, 1, 3, 6));
    const starts = x.shape.map((d) => randInt(r, 0, d - 1));
    const ends = x.shape.map((d, i) => randInt(r, starts[i]! + 1, d));
    const steps = x.shape.map(() => randInt(r, 1, 3));
    return { b, params, output: b.slice(x, starts, ends, steps) };
  },
  concat: (r) => {
    const { b, params, param } = setup(r);
    const base = randomShape(r, 1, 3);
    const axis = randInt(r, 0, base.length - 1);
    const parts = Array.from({ length: randInt(r, 1, 3) }, () =>
      param(base.map((d, i) => (i === axis ? randInt(r, 1, 3) : d))),
    );
    return { b, params, output: b.concat(parts, axis) };
  },
  pad: (r) => {
    const { b, params, param } = setup(r);
    const x = param(randomShape(r, 1, 3));
    const amounts = () => x.shape.map(() => randInt(r, 0, 2));
    return { b, params, output: b.pad(x, amounts(), amounts(), 0.5, amounts()) };
  },
  gather: (r) => {
    const { b, params, param } = setup(r);
    const x = param(randomShape(r, 1, 3));
    const axis = randInt(r, 0, x.shape.length - 1);
    const idxShape = randomShape(r, 0, 2);
    const n = idxShape.reduce((p, d) => p * d, 1);
    const idx = b.constant(
      Array.from({ length: n }, () => randInt(r, 0, x.shape[axis]! - 1)),
      idxShape,
      "i32",
    );
    return { b, params, output: b.gather(x, idx, axis) };
  },
  take_along_axis: (r) => {
    const { b, params, param } = setup(r);
    const x = param(randomShape(r, 1, 3));
    const axis = randInt(r, 0, x.shape.length - 1);
    const idxShape = x.shape.map((d, i) => (i === axis ? randInt(r, 1, 5) : d));
    const n = idxShape.reduce((p, d) => p * d, 1);
    const idx = b.constant(
      Array.from({ length: n }, () => randInt(r, 0, x.shape[axis]! - 1)),
      idxShape,
      "i32",
    );
    return { b, params, output: b.takeAlongAxis(x, idx, axis) };
  },
  scatter_add: (r) => {
    const { b, params, param } = setup(r);
    const base = param(randomShape(r, 1, 3));
    const axis = randInt(r, 0, base.shape.length - 1);
    const idxShape = base.shape.map((d, i) => (i === axis ? randInt(r, 1, 5) : d));
    const n = idxShape.reduce((p, d) => p * d, 1);
    const idx = b.constant(
      Array.from({ length: n }, () => randInt(r, 0, base.shape[axis]! - 1)),
      idxShape,
      "i32",
    );
    return { b, params, output: b.scatterAdd(base, idx, param(idxShape), axis) };
  },
  matmul: (r) => {
    const { b, params, param } = setup(r);
    const [m, k, n] = [randInt(r, 1, 4), randInt(r, 1, 4), randInt(r, 1, 4)];
    const batch = randomShape(r, 0, 2, 3);
    const [transA, transB] = [r() < 0.5, r() < 0.5];
    const a = param([...broadcastable(r, batch), ...(transA ? [k, m] : [m, k])]);
    const c = param([...broadcastable(r, batch), ...(transB ? [n, k] : [k, n])]);
    return { b, params, output: b.matmul(a, c, { transA, transB }) };
  },
};

describe("casts through f16", () => {
  it("pass the gradient straight through the rounding (as PyTorch's .half() and .float() do)", () => {
    const b = new GraphBuilder();
    const x = b.param("x", [5]);
    const w = b.input("w", [5]);
    const loss = b.sum(b.mul(b.cast(b.cast(x, "f16"), "f32"), w));
    const { graph, grads } = gradients(b.build(), loss.id, [x.id]);
    const wData = Float64Array.from([0.5, -2, 3, 0.25, 1]);
    const feeds = new Map<ValueId, Tensor>([
      [x.id, { shape: [5], data: Float64Array.from([0.1, 1 / 3, -7.77, 1e-5, 70000]) }],
      [w.id, { shape: [5], data: wData }],
    ]);
    expect(evaluate(graph, feeds).get(grads.get(x.id)!)!.data).toEqual(wData);
  });
});

describe("VJP rules against central finite differences", () => {
  it("the case table and the rule table agree on which ops are differentiable", () => {
    for (const op of OPS) expect(CASES[op] === "nondiff", op).toBe(VJP_RULES[op] === "nondiff");
  });

  for (const op of OPS) {
    const make = CASES[op];
    if (make === "nondiff") continue;
    it(`${op}`, () => {
      for (let seed = 1; seed <= 6; seed++) {
        const { b, params, output } = make(rng(seed * 7919 + op.length));
        checkGradients(b, params, output, seed);
      }
    });
  }
});
