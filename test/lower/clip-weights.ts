// Deterministic random CLIP weights for the lowering tests, keyed by checkpoint key (each tensor from
// its own seeded stream, so adding a parameter never changes the others), fixed inputs, and the
// tensors.json + tensors.bin pair that bench/ref/clip_reference.py reads.

import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ModelParam } from "../../compiler/lower/instance.ts";
import { numel, type Tensor } from "../../runtime/reference/tensor.ts";
import { rng } from "../graph/helpers.ts";

function keySeed(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/** Uniform weights with a scale that keeps activations O(1): LN weights near 1, matrices ~1/√fan_in. */
export function randomWeight(key: string, shape: readonly number[]): Tensor {
  const r = rng(keySeed(key));
  const data = new Float64Array(numel(shape));
  const u = () => 2 * r() - 1;
  const leaf = key.slice(key.lastIndexOf(".") + 1);
  const norm = /layer_?norm|layrnorm/.test(key);
  if (key === "logit_scale") data.fill(Math.log(100));
  else if (norm && leaf === "weight") for (let i = 0; i < data.length; i++) data[i] = 1 + 0.2 * u();
  else if (leaf === "bias") for (let i = 0; i < data.length; i++) data[i] = 0.1 * u();
  else if (/embedding/.test(key)) for (let i = 0; i < data.length; i++) data[i] = 0.5 * u();
  else {
    const fanIn = shape.slice(1).reduce((p, d) => p * d, 1);
    const scale = Math.sqrt(3 / fanIn);
    for (let i = 0; i < data.length; i++) data[i] = scale * u();
  }
  return { shape: [...shape], data };
}

export function weightsFor(params: readonly ModelParam[]): Map<string, Tensor> {
  return new Map(params.map((p) => [p.key, randomWeight(p.key, p.shape)] as const));
}

export const START = 49406;
export const EOT = 49407;

/** Token rows: start, `words` random word ids, end, then padding with `pad`, to `context`. */
export function tokenRows(
  seed: number,
  lengths: readonly number[],
  context: number,
  pads: readonly number[],
): Tensor {
  const r = rng(seed);
  const data = new Float64Array(lengths.length * context);
  lengths.forEach((n, row) => {
    const ids = [START, ...Array.from({ length: n }, () => 1 + Math.floor(r() * 49000)), EOT];
    for (let i = 0; i < context; i++) data[row * context + i] = i < ids.length ? ids[i]! : pads[row]!;
  });
  return { shape: [lengths.length, context], data };
}

/** Writes `tensors` (and `config`) as tensors.json + tensors.bin (float64 little-endian) into `dir`. */
export function writeTensors(dir: string, config: object, tensors: ReadonlyMap<string, Tensor>): void {
  const index: Record<string, { shape: number[]; offset: number }> = {};
  let offset = 0;
  for (const [k, t] of tensors) {
    index[k] = { shape: [...t.shape], offset };
    offset += t.data.length;
  }
  const all = new Float64Array(offset);
  for (const [k, t] of tensors) all.set(t.data, index[k]!.offset);
  writeFileSync(join(dir, "tensors.json"), JSON.stringify({ config, tensors: index }));
  writeFileSync(join(dir, "tensors.bin"), new Uint8Array(all.buffer));
}

/** Sum and sum of squares of every weight: a guard that the generator still makes the committed weights. */
export function checksum(tensors: ReadonlyMap<string, Tensor>): [number, number] {
  let s = 0;
  let q = 0;
  for (const t of tensors.values())
    for (const x of t.data) {
      s += x;
      q += x * x;
    }
  return [s, q];
}
