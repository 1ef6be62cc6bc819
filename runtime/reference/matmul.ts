// Batched matmul over the last two axes with optional transposes and broadcast batch axes.

import { broadcastStrides, forEachIndex, numel, type Tensor } from "./tensor.ts";

export function matmul(
  a: Tensor,
  b: Tensor,
  transA: boolean,
  transB: boolean,
  shape: readonly number[],
): Tensor {
  const [ar, ac] = a.shape.slice(-2) as [number, number];
  const [br, bc] = b.shape.slice(-2) as [number, number];
  const m = transA ? ac : ar;
  const k = transA ? ar : ac;
  const n = transB ? br : bc;
  // Element (i, p) of op(A) and (p, j) of op(B) within one matrix.
  const [aI, aP] = transA ? [1, ac] : [ac, 1];
  const [bP, bJ] = transB ? [1, bc] : [bc, 1];
  const batch = shape.slice(0, -2);
  const aBatch = broadcastStrides(a.shape.slice(0, -2), batch).map((s) => s * ar * ac);
  const bBatch = broadcastStrides(b.shape.slice(0, -2), batch).map((s) => s * br * bc);
  const out = new Float64Array(numel(shape));
  forEachIndex(batch, [aBatch, bBatch], (t, [ao, bo]) => {
    const oo = t * m * n;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let acc = 0;
        for (let p = 0; p < k; p++) acc += a.data[ao! + i * aI + p * aP]! * b.data[bo! + p * bP + j * bJ]!;
        out[oo + i * n + j] = acc;
      }
    }
  });
  return { shape, data: out };
}
