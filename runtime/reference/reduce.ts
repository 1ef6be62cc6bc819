// Reductions over any set of axes, straight loops over the input in row-major order.

import { forEachIndex, numel, strides, type Tensor } from "./tensor.ts";

export type Reduction = "sum" | "max" | "argmax";

/** `outShape` is the keepdims or squeezed result shape; the data layout is the same for both. */
export function reduce(
  kind: Reduction,
  x: Tensor,
  axes: readonly number[],
  outShape: readonly number[],
): Tensor {
  const kept = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const keptStrides = strides(kept);
  const toOut = x.shape.map((_, i) => (axes.includes(i) ? 0 : keptStrides[i]!));
  // Row-major position within the reduced axes taken together, which argmax reports.
  const reducedShape = axes.map((a) => x.shape[a]!);
  const reducedStrides = strides(reducedShape);
  const toReduced = x.shape.map((_, i) => {
    const k = axes.indexOf(i);
    return k < 0 ? 0 : reducedStrides[k]!;
  });
  const n = numel(kept);
  const out = new Float64Array(n).fill(kind === "sum" ? 0 : -Infinity);
  const arg = new Float64Array(n);
  forEachIndex(x.shape, [toOut, toReduced], (flat, [o, r]) => {
    const v = x.data[flat]!;
    if (kind === "sum") out[o!]! += v;
    else if (v > out[o!]! || Number.isNaN(v)) {
      if (Number.isNaN(out[o!]!)) return;
      out[o!] = v;
      arg[o!] = r!;
    }
  });
  return { shape: outShape, data: kind === "argmax" ? arg : out };
}
