// Scalar semantics of the elementwise primitives, in float64, and their broadcasting loops.

import type { OpOf } from "../../compiler/graph/ops.ts";
import { broadcastStrides, forEachIndex, numel, type Tensor } from "./tensor.ts";

const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);

/**
 * erf(x) = 2/sqrt(pi) * exp(-x^2) * sum_n 2^n x^(2n+1) / (1*3*...*(2n+1)): every term is positive,
 * so the sum has no cancellation and is accurate to a few ulps; beyond |x| = 6, erf is +-1 in float64.
 */
export function erf(x: number): number {
  if (Number.isNaN(x)) return x;
  if (Math.abs(x) >= 6) return Math.sign(x);
  const x2 = x * x;
  let term = x;
  let sum = x;
  for (let n = 1; Math.abs(term) > 1e-17 * Math.abs(sum); n++) {
    term *= (2 * x2) / (2 * n + 1);
    sum += term;
  }
  return TWO_OVER_SQRT_PI * Math.exp(-x2) * sum;
}

export const UNARY: { readonly [K in Exclude<OpOf<"unary">, "cast">]: (x: number) => number } = {
  neg: (x) => -x,
  exp: Math.exp,
  log: Math.log,
  sqrt: Math.sqrt,
  rsqrt: (x) => 1 / Math.sqrt(x),
  reciprocal: (x) => 1 / x,
  tanh: Math.tanh,
  sigmoid: (x) => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x))),
  softplus: (x) => (x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x))),
  abs: Math.abs,
  erf,
  relu: (x) => (x > 0 ? x : 0),
  sin: Math.sin,
  cos: Math.cos,
  sign: (x) => (x > 0 ? 1 : x < 0 ? -1 : x),
  floor: Math.floor,
  stop_gradient: (x) => x,
};

export const BINARY: { readonly [K in OpOf<"binary"> | OpOf<"compare">]: (a: number, b: number) => number } =
  {
    add: (a, b) => a + b,
    sub: (a, b) => a - b,
    mul: (a, b) => a * b,
    div: (a, b) => a / b,
    pow: Math.pow,
    maximum: Math.max,
    minimum: Math.min,
    eq: (a, b) => (a === b ? 1 : 0),
    ne: (a, b) => (a !== b ? 1 : 0),
    lt: (a, b) => (a < b ? 1 : 0),
    le: (a, b) => (a <= b ? 1 : 0),
    gt: (a, b) => (a > b ? 1 : 0),
    ge: (a, b) => (a >= b ? 1 : 0),
  };

export function mapUnary(x: Tensor, f: (v: number) => number): Tensor {
  return { shape: x.shape, data: x.data.map(f) };
}

/** f over operands broadcast to `shape` (which the shape rule has already computed). */
export function mapBroadcast(
  shape: readonly number[],
  operands: readonly Tensor[],
  f: (...v: number[]) => number,
): Tensor {
  const out = new Float64Array(numel(shape));
  const views = operands.map((t) => broadcastStrides(t.shape, shape));
  const args = new Array<number>(operands.length);
  forEachIndex(shape, views, (flat, offsets) => {
    for (let k = 0; k < operands.length; k++) args[k] = operands[k]!.data[offsets[k]!]!;
    out[flat] = f(...args);
  });
  return { shape, data: out };
}
