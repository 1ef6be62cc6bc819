// Counter-based random numbers in WGSL: Philox 4x32-10 exactly as runtime/reference/philox.ts
// defines the stream (u32 arithmetic only, mulhi from 16-bit halves), so uniforms match the
// reference bit for bit. Used as elementwise sources (elementwise.ts fuses them into consumers).

import { literal } from "./kernel.ts";

export const PHILOX_WGSL = `fn philox_mulhi(a: u32, b: u32) -> u32 {
  let al = a & 0xffffu;
  let ah = a >> 16u;
  let bl = b & 0xffffu;
  let bh = b >> 16u;
  let ll = al * bl;
  let lh = al * bh;
  let hl = ah * bl;
  let hh = ah * bh;
  let mid = (ll >> 16u) + (lh & 0xffffu) + (hl & 0xffffu);
  return hh + (lh >> 16u) + (hl >> 16u) + (mid >> 16u);
}

// The first two words of Philox 4x32-10 at counter (n_lo, n_hi, 0, 0) under key (k0, k1).
fn philox(n_lo: u32, n_hi: u32, key0: u32, key1: u32) -> vec2<u32> {
  var c = vec4<u32>(n_lo, n_hi, 0u, 0u);
  var k0 = key0;
  var k1 = key1;
  for (var round = 0u; round < 10u; round++) {
    if (round > 0u) {
      k0 += 0x9e3779b9u;
      k1 += 0xbb67ae85u;
    }
    let hi0 = philox_mulhi(0xd2511f53u, c.x);
    let lo0 = 0xd2511f53u * c.x;
    let hi1 = philox_mulhi(0xcd9e8d57u, c.z);
    let lo1 = 0xcd9e8d57u * c.z;
    c = vec4<u32>(hi1 ^ c.y ^ k0, lo1, hi0 ^ c.w ^ k1, lo0);
  }
  return c.xy;
}

// Element n = offset + i of the stream for a key and a 64-bit offset (lo, hi).
fn philox_at(i: u32, off_lo: u32, off_hi: u32, key0: u32, key1: u32) -> vec2<u32> {
  let lo = off_lo + i;
  return philox(lo, off_hi + select(0u, 1u, lo < off_lo), key0, key1);
}

fn philox_uniform(i: u32, off_lo: u32, off_hi: u32, key0: u32, key1: u32) -> f32 {
  return f32(philox_at(i, off_lo, off_hi, key0, key1).x >> 8u) * 5.9604644775390625e-8f;
}

fn philox_normal(i: u32, off_lo: u32, off_hi: u32, key0: u32, key1: u32) -> f32 {
  let x = philox_at(i, off_lo, off_hi, key0, key1);
  let u1 = f32((x.x >> 8u) + 1u) * 5.9604644775390625e-8f;
  let u2 = f32(x.y >> 8u) * 5.9604644775390625e-8f;
  return sqrt(-2.0f * log(u1)) * cos(6.2831853071795864f * u2);
}`;

const TWO_32 = 2 ** 32;

/** WGSL expression for element `flat` of random_uniform/random_normal(seed, offset). */
export function randomExpr(dist: "uniform" | "normal", seed: number, offset: number, flat: string): string {
  const args = [
    flat,
    literal(offset % TWO_32, "u32"),
    literal(Math.floor(offset / TWO_32), "u32"),
    literal(seed % TWO_32, "u32"),
    literal(Math.floor(seed / TWO_32), "u32"),
  ];
  return `philox_${dist}(${args.join(", ")})`;
}
