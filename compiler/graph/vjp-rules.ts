// One vector-Jacobian product per primitive. Given g = dL/dy for y = op(x...), a rule returns
// dL/dx for each operand (null where the operand takes no gradient). A result may keep the
// broadcast output shape: the walk in autodiff.ts sums it down to the operand's shape.
// "nondiff": the op has no operands, or its derivative is zero almost everywhere.

import type { GraphBuilder } from "./builder.ts";
import type { AnyNode, Node, Value } from "./graph.ts";
import { isFloat, type Op } from "./ops.ts";

export interface VjpContext<K extends Op> {
  readonly b: GraphBuilder;
  /** The node differentiated; it is also y, the forward value. */
  readonly y: Node<K>;
  readonly x: readonly AnyNode[];
  readonly g: Value;
}

export type VjpRule<K extends Op> = (ctx: VjpContext<K>) => readonly (Value | null)[];

/** The gradient of a reduction, broadcast back over the reduced axes. */
function unreduce(b: GraphBuilder, g: Value, x: Value, axes: readonly number[], keepdims: boolean): Value {
  const kept = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
  return b.broadcast(keepdims ? g : b.reshape(g, kept), x.shape);
}

export const VJP_RULES: { readonly [K in Op]: VjpRule<K> | "nondiff" } = {
  input: "nondiff",
  param: "nondiff",
  constant: "nondiff",
  full: "nondiff",
  iota: "nondiff",
  random_uniform: "nondiff",
  random_normal: "nondiff",
  // d(-x) = -g
  neg: ({ b, g }) => [b.neg(g)],
  // d exp x = g y
  exp: ({ b, y, g }) => [b.mul(g, y)],
  // d log x = g / x
  log: ({ b, x, g }) => [b.div(g, x[0]!)],
  // d sqrt x = g / (2 y)
  sqrt: ({ b, y, g }) => [b.div(b.mul(g, 0.5), y)],
  // d x^(-1/2) = -g y^3 / 2
  rsqrt: ({ b, y, g }) => [b.mul(b.mul(g, -0.5), b.mul(y, b.mul(y, y)))],
  // d (1/x) = -g y^2
  reciprocal: ({ b, y, g }) => [b.neg(b.mul(g, b.mul(y, y)))],
  // d tanh x = g (1 - y^2)
  tanh: ({ b, y, g }) => [b.mul(g, b.sub(1, b.mul(y, y)))],
  // d sigmoid x = g y (1 - y)
  sigmoid: ({ b, y, g }) => [b.mul(g, b.mul(y, b.sub(1, y)))],
  // d softplus x = g sigmoid(x)
  softplus: ({ b, x, g }) => [b.mul(g, b.sigmoid(x[0]!))],
  // d |x| = g sign(x)
  abs: ({ b, x, g }) => [b.mul(g, b.sign(x[0]!))],
  // d erf x = g 2/sqrt(pi) exp(-x^2)
  erf: ({ b, x, g }) => [b.mul(g, b.mul(b.exp(b.neg(b.mul(x[0]!, x[0]!))), 2 / Math.sqrt(Math.PI)))],
  // d relu x = g [x > 0]
  relu: ({ b, x, g }) => [b.select(b.gt(x[0]!, 0), g, 0)],
  // d sin x = g cos x
  sin: ({ b, x, g }) => [b.mul(g, b.cos(x[0]!))],
  // d cos x = -g sin x
  cos: ({ b, x, g }) => [b.neg(b.mul(g, b.sin(x[0]!)))],
  sign: "nondiff",
  floor: "nondiff",
  // d cast x = cast back, between float types only
  cast: ({ b, x, y, g }) => [isFloat(x[0]!.dtype) && isFloat(y.dtype) ? b.cast(g, x[0]!.dtype) : null],
  stop_gradient: "nondiff",
  // d(a + b) = (g, g)
  add: ({ g }) => [g, g],
  // d(a - b) = (g, -g)
  sub: ({ b, g }) => [g, b.neg(g)],
  // d(a b) = (g b, g a)
  mul: ({ b, x, g }) => [b.mul(g, x[1]!), b.mul(g, x[0]!)],
  // d(a / b) = (g / b, -g y / b)
  div: ({ b, x, y, g }) => [b.div(g, x[1]!), b.neg(b.div(b.mul(g, y), x[1]!))],
  // d a^b = (g b a^(b-1), g y log a), the latter taken as 0 where a <= 0
  pow: ({ b, x, y, g }) => {
    const [base, exponent] = [x[0]!, x[1]!];
    const da = b.mul(g, b.mul(exponent, b.pow(base, b.sub(exponent, 1))));
    const db = b.select(b.gt(base, 0), b.mul(g, b.mul(y, b.log(base))), 0);
    return [da, db];
  },
  // d max(a, b) = g to a where a >= b, else to b
  maximum: ({ b, x, g }) => [b.select(b.ge(x[0]!, x[1]!), g, 0), b.select(b.lt(x[0]!, x[1]!), g, 0)],
  // d min(a, b) = g to a where a <= b, else to b
  minimum: ({ b, x, g }) => [b.select(b.le(x[0]!, x[1]!), g, 0), b.select(b.gt(x[0]!, x[1]!), g, 0)],
  eq: "nondiff",
  ne: "nondiff",
  lt: "nondiff",
  le: "nondiff",
  gt: "nondiff",
  ge: "nondiff",
  // d select(c, a, b) = (-, g [c], g [not c])
  select: ({ b, x, g }) => [null, b.select(x[0]!, g, 0), b.select(x[0]!, 0, g)],
  // d sum x = g broadcast over the summed axes
  sum: ({ b, x, y, g }) => [unreduce(b, g, x[0]!, y.attrs.axes, y.attrs.keepdims)],
  // d max x = g shared equally among the positions that attain the maximum
  max: ({ b, x, y, g }) => {
    const { axes, keepdims } = y.attrs;
    const hit = b.cast(b.eq(x[0]!, unreduce(b, y, x[0]!, axes, keepdims)), x[0]!.dtype);
    const share = b.div(
      unreduce(b, g, x[0]!, axes, keepdims),
      unreduce(b, b.sum(hit, axes, true), x[0]!, axes, true),
    );
    return [b.mul(hit, share)];
  },
  argmax: "nondiff",
  // d reshape x = g reshaped back
  reshape: ({ b, x, g }) => [b.reshape(g, x[0]!.shape)],
  // d permute(x, p) = permute(g, p^-1)
  permute: ({ b, y, g }) => {
    const inverse = new Array<number>(y.attrs.perm.length);
    y.attrs.perm.forEach((p, i) => {
      inverse[p] = i;
    });
    return [b.permute(g, inverse)];
  },
  // d broadcast x = g, summed back to x's shape by the walk
  broadcast: ({ g }) => [g],
  // d slice x = g scattered back with zeros (pad, interior fill for steps)
  slice: ({ b, x, y, g }) => {
    const { starts, steps } = y.attrs;
    const after = x[0]!.shape.map((d, i) => {
      const n = y.shape[i]!;
      return d - starts[i]! - (n === 0 ? 0 : (n - 1) * steps[i]! + 1);
    });
    return [
      b.pad(
        g,
        starts,
        after,
        0,
        steps.map((s) => s - 1),
      ),
    ];
  },
  // d concat(x_1..x_n) = the matching slices of g
  concat: ({ b, x, y, g }) => {
    const axis = y.attrs.axis;
    let at = 0;
    return x.map((xi) => {
      const part = b.sliceAxis(g, axis, at, at + xi.shape[axis]!);
      at += xi.shape[axis]!;
      return part;
    });
  },
  // d pad x = the strided slice of g where x landed
  pad: ({ b, x, y, g }) => {
    const { before, interior } = y.attrs;
    const ends = x[0]!.shape.map((d, i) => before[i]! + (d === 0 ? 0 : d + (d - 1) * interior[i]!));
    return [
      b.slice(
        g,
        before,
        ends,
        interior.map((s) => s + 1),
      ),
    ];
  },
  // d gather(x, idx) = scatter-add of g into zeros at idx (x seen as [pre, N, post])
  gather: ({ b, x, y, g }) => {
    const [src, idx] = [x[0]!, x[1]!];
    const axis = y.attrs.axis;
    const pre = src.shape.slice(0, axis).reduce((p, d) => p * d, 1);
    const post = src.shape.slice(axis + 1).reduce((p, d) => p * d, 1);
    const k = idx.shape.reduce((p, d) => p * d, 1);
    const idx3 = b.broadcast(b.reshape(idx, [1, k, 1]), [pre, k, post]);
    const zeros = b.full([pre, src.shape[axis]!, post], 0, src.dtype);
    return [b.reshape(b.scatterAdd(zeros, idx3, b.reshape(g, [pre, k, post]), 1), src.shape), null];
  },
  // d take_along_axis(x, idx) = scatter-add of g into zeros at idx
  take_along_axis: ({ b, x, y, g }) => [
    b.scatterAdd(b.full(x[0]!.shape, 0, x[0]!.dtype), x[1]!, g, y.attrs.axis),
    null,
  ],
  // d scatter_add(base, idx, u) = (g, -, g gathered at idx)
  scatter_add: ({ b, x, y, g }) => [g, null, b.takeAlongAxis(g, x[1]!, y.attrs.axis)],
  // y = op(A) op(B): dA = g op(B)^T (transposed back if A was), dB = op(A)^T g (likewise)
  matmul: ({ b, x, y, g }) => {
    const [a, c] = [x[0]!, x[1]!];
    const { transA, transB } = y.attrs;
    const da = transA
      ? b.matmul(c, g, { transA: transB, transB: true })
      : b.matmul(g, c, { transB: !transB });
    const db = transB
      ? b.matmul(g, a, { transA: true, transB: transA })
      : b.matmul(a, g, { transA: !transA });
    return [da, db];
  },
};
