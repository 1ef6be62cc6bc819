// Shared test helpers: a seeded generator, random tensors, and a central finite-difference
// gradient check on the reference interpreter.

import { expect } from "vitest";
import { gradients } from "../../compiler/graph/autodiff.ts";
import type { GraphBuilder } from "../../compiler/graph/builder.ts";
import type { Graph, Value, ValueId } from "../../compiler/graph/graph.ts";
import { verifyGraph } from "../../compiler/graph/verify.ts";
import { evaluate } from "../../runtime/reference/interpreter.ts";
import { numel, type Tensor } from "../../runtime/reference/tensor.ts";

/** mulberry32: small, seeded, good enough for test data. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randInt(r: () => number, lo: number, hi: number): number {
  return lo + Math.floor(r() * (hi - lo + 1));
}

export function randomTensor(r: () => number, shape: readonly number[], lo = -1, hi = 1): Tensor {
  const data = new Float64Array(numel(shape));
  for (let i = 0; i < data.length; i++) data[i] = lo + (hi - lo) * r();
  return { shape: [...shape], data };
}

export function randomShape(r: () => number, minRank = 0, maxRank = 3, maxDim = 4): number[] {
  return Array.from({ length: randInt(r, minRank, maxRank) }, () => randInt(r, 1, maxDim));
}

export function scalarOf(t: Tensor): number {
  return t.data[0]!;
}

export function expectClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  atol: number,
  rtol = 0,
): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < actual.length; i++) {
    const [a, e] = [actual[i]!, expected[i]!];
    if (!(Math.abs(a - e) <= atol + rtol * Math.abs(e))) {
      expect.fail(`element ${i}: ${a} vs expected ${e} (atol ${atol}, rtol ${rtol})`);
    }
  }
}

/**
 * Checks autodiff against central differences in float64. `build` makes a float output from the
 * given params; the loss is sum(output * R) with a fixed random R, so every Jacobian entry counts.
 */
export function checkGradients(
  b: GraphBuilder,
  params: readonly { value: Value; data: Tensor }[],
  output: Value,
  seed: number,
  tol = 1e-6,
): void {
  const r = rng(seed);
  const weights = b.constant(Array.from(randomTensor(r, output.shape).data), output.shape, output.dtype);
  const loss = b.sum(b.mul(output, weights));
  const forward = b.build();
  verifyGraph(forward);
  const wrt = params.map((p) => p.value.id);
  const { graph, grads } = gradients(forward, loss.id, wrt);
  verifyGraph(graph);
  const feeds = new Map<ValueId, Tensor>(params.map((p) => [p.value.id, p.data]));
  const values = evaluate(graph, feeds);
  const lossAt = (g: Graph, f: Map<ValueId, Tensor>) => scalarOf(evaluate(g, f).get(loss.id)!);
  const h = 1e-6;
  for (const p of params) {
    const analytic = values.get(grads.get(p.value.id)!)!.data;
    const numeric = new Float64Array(p.data.data.length);
    for (let i = 0; i < numeric.length; i++) {
      const plus = Float64Array.from(p.data.data);
      const minus = Float64Array.from(p.data.data);
      plus[i]! += h;
      minus[i]! -= h;
      const fp = lossAt(forward, new Map(feeds).set(p.value.id, { shape: p.data.shape, data: plus }));
      const fm = lossAt(forward, new Map(feeds).set(p.value.id, { shape: p.data.shape, data: minus }));
      numeric[i] = (fp - fm) / (2 * h);
    }
    expectClose(analytic, numeric, tol, tol);
  }
}
