// Host values in the device's storage layout and back: f32 as f32, f16 (where the device stores it:
// lower.ts legalizeHalf) as f16 bits rounded to nearest even, i32 and bool as i32.

import type { DType } from "../../compiler/graph/ops.ts";
import { halfTable, writeHalves } from "../formats/half.ts";

/** `data` in the device layout of `dtype`, padded to `bytes` (f32 values that fill them go as they are). */
export function toDevice(data: ArrayLike<number>, dtype: DType, bytes: number): GPUAllowSharedBufferSource {
  // Shared or not, writeBuffer copies the view's bytes (the types only spell out ArrayBuffer).
  if (dtype === "f32" && data instanceof Float32Array && data.byteLength === bytes)
    return data as Float32Array<ArrayBuffer>;
  const buf = new ArrayBuffer(bytes);
  if (dtype === "f32") new Float32Array(buf).set(data);
  else if (dtype === "f16") writeHalves(data, new Uint16Array(buf));
  else {
    const out = new Int32Array(buf);
    for (let i = 0; i < data.length; i++) out[i] = data[i]!;
  }
  return buf;
}

/** `n` values of `dtype` stored at byte `at` of `bytes`, as float64. */
export function fromDevice(bytes: ArrayBuffer, at: number, n: number, dtype: DType): Float64Array {
  if (dtype === "f32") return Float64Array.from(new Float32Array(bytes, at, n));
  if (dtype === "f16") {
    const table = halfTable();
    return Float64Array.from(new Uint16Array(bytes, at, n), (b) => table[b]!);
  }
  return Float64Array.from(new Int32Array(bytes, at, n));
}
