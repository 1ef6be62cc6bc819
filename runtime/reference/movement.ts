// Movement primitives: each output element read from (or each input element written to) the
// position the op's definition names, with index bounds checked.

import { broadcastStrides, forEachIndex, numel, strides, type Tensor } from "./tensor.ts";

export function permute(x: Tensor, perm: readonly number[]): Tensor {
  const s = strides(x.shape);
  const shape = perm.map((p) => x.shape[p]!);
  const out = new Float64Array(numel(shape));
  forEachIndex(shape, [perm.map((p) => s[p]!)], (flat, [o]) => {
    out[flat] = x.data[o!]!;
  });
  return { shape, data: out };
}

export function broadcast(x: Tensor, shape: readonly number[]): Tensor {
  const out = new Float64Array(numel(shape));
  forEachIndex(shape, [broadcastStrides(x.shape, shape)], (flat, [o]) => {
    out[flat] = x.data[o!]!;
  });
  return { shape, data: out };
}

export function slice(
  x: Tensor,
  starts: readonly number[],
  steps: readonly number[],
  shape: readonly number[],
): Tensor {
  const s = strides(x.shape);
  const base = starts.reduce((acc, st, i) => acc + st * s[i]!, 0);
  const out = new Float64Array(numel(shape));
  forEachIndex(shape, [s.map((st, i) => st * steps[i]!)], (flat, [o]) => {
    out[flat] = x.data[base + o!]!;
  });
  return { shape, data: out };
}

export function concat(xs: readonly Tensor[], axis: number, shape: readonly number[]): Tensor {
  const s = strides(shape);
  const out = new Float64Array(numel(shape));
  let at = 0;
  for (const x of xs) {
    const base = at * s[axis]!;
    forEachIndex(x.shape, [s], (flat, [o]) => {
      out[base + o!] = x.data[flat]!;
    });
    at += x.shape[axis]!;
  }
  return { shape, data: out };
}

export function pad(
  x: Tensor,
  before: readonly number[],
  interior: readonly number[],
  value: number,
  shape: readonly number[],
): Tensor {
  const s = strides(shape);
  const base = before.reduce((acc, b, i) => acc + b * s[i]!, 0);
  const out = new Float64Array(numel(shape)).fill(value);
  forEachIndex(x.shape, [s.map((st, i) => st * (interior[i]! + 1))], (flat, [o]) => {
    out[base + o!] = x.data[flat]!;
  });
  return { shape, data: out };
}

function checkIndex(i: number, size: number, op: string): number {
  if (!(Number.isInteger(i) && i >= 0 && i < size))
    throw new RangeError(`${op}: index ${i} out of range [0, ${size})`);
  return i;
}

export function gather(x: Tensor, idx: Tensor, axis: number, shape: readonly number[]): Tensor {
  const pre = numel(x.shape.slice(0, axis));
  const n = x.shape[axis]!;
  const post = numel(x.shape.slice(axis + 1));
  const k = idx.data.length;
  const out = new Float64Array(numel(shape));
  for (let p = 0; p < pre; p++) {
    for (let j = 0; j < k; j++) {
      const row = checkIndex(idx.data[j]!, n, "gather");
      for (let q = 0; q < post; q++) out[(p * k + j) * post + q] = x.data[(p * n + row) * post + q]!;
    }
  }
  return { shape, data: out };
}

/** Strides of `target` with the `axis` stride zeroed, and that stride: position = offset + index * step. */
function alongAxis(target: readonly number[], axis: number): [number[], number] {
  const s = strides(target);
  const step = s[axis]!;
  s[axis] = 0;
  return [s, step];
}

export function takeAlongAxis(x: Tensor, idx: Tensor, axis: number): Tensor {
  const [s, step] = alongAxis(x.shape, axis);
  const out = new Float64Array(idx.data.length);
  forEachIndex(idx.shape, [s], (flat, [o]) => {
    out[flat] = x.data[o! + checkIndex(idx.data[flat]!, x.shape[axis]!, "take_along_axis") * step]!;
  });
  return { shape: idx.shape, data: out };
}

export function scatterAdd(base: Tensor, idx: Tensor, updates: Tensor, axis: number): Tensor {
  const [s, step] = alongAxis(base.shape, axis);
  const out = Float64Array.from(base.data);
  forEachIndex(idx.shape, [s], (flat, [o]) => {
    out[o! + checkIndex(idx.data[flat]!, base.shape[axis]!, "scatter_add") * step]! += updates.data[flat]!;
  });
  return { shape: base.shape, data: out };
}
