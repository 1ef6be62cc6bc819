// IEEE 754 binary16 ("f16", "half") conversions: safetensors' F16 tensors, and values the device
// stores at f16 (a graph value of dtype f16 where the adapter offers shader-f16).

// One f32 scratch shared by the conversions: floatToHalfBits runs once per element of a weight.
const scratch = new Float32Array(1);
const scratchBits = new Uint32Array(scratch.buffer);

/** The value of f16 `bits`. */
export function halfToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 0x1f) return mantissa === 0 ? sign * Number.POSITIVE_INFINITY : Number.NaN;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

let table: Float32Array | undefined;

/** The value of every f16 bit pattern, indexed by it (built on first use). */
export function halfTable(): Float32Array {
  if (!table) {
    table = new Float32Array(65536);
    for (let i = 0; i < 65536; i++) table[i] = halfToFloat(i);
  }
  return table;
}

/**
 * The f16 bits of `value` (first rounded to f32, as a device would hold it), rounding to nearest even:
 * overflow to ±inf, NaN stays NaN.
 */
export function floatToHalfBits(value: number): number {
  scratch[0] = value;
  const x = scratchBits[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exponent = (x >>> 23) & 0xff;
  let mantissa = x & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa ? 0x200 : 0);
  const e = exponent - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mantissa |= 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    let bits = mantissa >>> shift;
    const rest = mantissa & ((1 << shift) - 1);
    if (rest > half || (rest === half && bits & 1)) bits++;
    return sign | bits;
  }
  let bits = (e << 10) | (mantissa >>> 13);
  const rest = mantissa & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && bits & 1)) bits++; // a carry may round up to inf: correct
  return sign | bits;
}

/** `value` rounded to the nearest f16 (what storing it at f16 and reading it back gives). */
export function roundToHalf(value: number): number {
  return halfTable()[floatToHalfBits(value)]!;
}

/** `data` as f16 bits into `out` (from its start). */
export function writeHalves(data: ArrayLike<number>, out: Uint16Array): void {
  for (let i = 0; i < data.length; i++) out[i] = floatToHalfBits(data[i]!);
}
