// Counter-based random numbers: Philox 4x32-10 (Salmon et al., "Parallel random numbers: as easy
// as 1, 2, 3", SC 2011), the stream every backend must reproduce.
//
// The exact mapping from (seed, offset, element index i) to a value, in 32-bit unsigned integer
// arithmetic only, so a WGSL kernel (u32 ops, mulhi built from 16-bit halves as below) matches bit
// for bit:
//
//   n       = offset + i                          (i = row-major index in the output; n < 2^53)
//   counter = (n mod 2^32, floor(n / 2^32), 0, 0)
//   key     = (seed mod 2^32, floor(seed / 2^32))
//   repeat 10 times, bumping the key by (0x9E3779B9, 0xBB67AE85) mod 2^32 before every round but the first:
//     (hi0, lo0) = 0xD2511F53 * c0,  (hi1, lo1) = 0xCD9E8D57 * c2      (full 64-bit products)
//     c = (hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0)
//   x0, x1 = the first two words of the result
//
//   random_uniform = f32(x0 >> 8) * 2^-24                             in [0, 1), exact in f32
//   random_normal  = sqrt(-2 ln u1) * cos(2 pi u2)  (Box-Muller), with
//                    u1 = f32((x0 >> 8) + 1) * 2^-24 in (0, 1],  u2 = f32(x1 >> 8) * 2^-24
//
// Uniforms are bit-identical everywhere. Normals share the integer stream and the u1, u2 above
// exactly; the result then differs between backends only by their log/cos/sqrt rounding.

const M0 = 0xd2511f53;
const M1 = 0xcd9e8d57;
const W0 = 0x9e3779b9;
const W1 = 0xbb67ae85;

/** High and low 32 bits of the 64-bit product of two u32, from 16-bit halves (as WGSL must do it). */
function mulhilo(a: number, b: number): [number, number] {
  const al = a & 0xffff;
  const ah = a >>> 16;
  const bl = b & 0xffff;
  const bh = b >>> 16;
  const ll = al * bl;
  const lh = al * bh;
  const hl = ah * bl;
  const hh = ah * bh;
  const mid = (ll >>> 16) + (lh & 0xffff) + (hl & 0xffff);
  const hi = (hh + (lh >>> 16) + (hl >>> 16) + (mid >>> 16)) >>> 0;
  const lo = Math.imul(a, b) >>> 0;
  return [hi, lo];
}

/** Philox 4x32-10 of a counter (four u32) under a key (two u32). */
export function philox4x32(
  counter: readonly [number, number, number, number],
  key: readonly [number, number],
) {
  let [c0, c1, c2, c3] = counter;
  let [k0, k1] = key;
  for (let round = 0; round < 10; round++) {
    if (round > 0) {
      k0 = (k0 + W0) >>> 0;
      k1 = (k1 + W1) >>> 0;
    }
    const [hi0, lo0] = mulhilo(M0, c0);
    const [hi1, lo1] = mulhilo(M1, c2);
    [c0, c1, c2, c3] = [(hi1 ^ c1 ^ k0) >>> 0, lo1, (hi0 ^ c3 ^ k1) >>> 0, lo0];
  }
  return [c0, c1, c2, c3] as const;
}

const TWO_32 = 2 ** 32;
const TWO_M24 = 2 ** -24;

function words(seed: number, n: number): readonly [number, number, number, number] {
  return philox4x32([n % TWO_32, Math.floor(n / TWO_32), 0, 0], [seed % TWO_32, Math.floor(seed / TWO_32)]);
}

export function uniformAt(seed: number, n: number): number {
  return (words(seed, n)[0] >>> 8) * TWO_M24;
}

export function normalAt(seed: number, n: number): number {
  const [x0, x1] = words(seed, n);
  const u1 = ((x0 >>> 8) + 1) * TWO_M24;
  const u2 = (x1 >>> 8) * TWO_M24;
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
}
