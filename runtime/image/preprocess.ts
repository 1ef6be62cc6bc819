// CLIP's image preprocessing: decode to RGB, resize the shorter side to `size` with Pillow's bicubic,
// centre-crop `size × size`, scale to [0, 1], normalise with CLIP's mean and std; a Float32Array in CHW
// order (and [B, 3, S, S] for a batch).
//
// Centre crop conventions: HF's CLIPImageProcessor (the checkpoints vlmp loads, `clip.*` backbones)
// floors the offset, `(H − S) // 2` — the default here, "floor"; torchvision's CenterCrop (OpenAI's
// `clip.load` preprocessing, open_clip) rounds it, `round((H − S) / 2)` — "round". They differ by one
// pixel only when H − S is odd.

import { decodeRgb } from "./decode.ts";
import { resizeBicubic } from "./resize.ts";
import { cropRgb, type RgbImage } from "./rgb.ts";

export const CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073] as const;
export const CLIP_STD = [0.26862954, 0.26130258, 0.27577711] as const;

export type CropConvention = "floor" | "round";

export interface PreprocessOptions {
  /** Output side in pixels (the model's image size: 224 for B/32, B/16, L/14; 32 for clip.tiny). */
  size: number;
  /** Centre-crop offset rounding: "floor" (HF, the default) or "round" (torchvision). */
  crop?: CropConvention;
}

/** The size the shorter side is resized to `size` gives, the longer side truncated as PIL/HF/torchvision do. */
export function shortestSideSize(width: number, height: number, size: number): [number, number] {
  if (width <= height) return [size, Math.trunc((size * height) / width)];
  return [Math.trunc((size * width) / height), size];
}

/** Offset of a centred crop of `crop` pixels out of `extent`. */
export function centerOffset(extent: number, crop: number, convention: CropConvention = "floor"): number {
  if (convention === "floor") return Math.floor((extent - crop) / 2);
  // Python's round() rounds half to even; (extent − crop) / 2 is an integer or a half.
  const half = (extent - crop) / 2;
  const r = Math.round(half);
  return Math.abs(half - Math.trunc(half)) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Resize shortest side + centre crop on 8-bit RGB: the uint8 image CLIP's normalisation then reads. */
export function resizeAndCrop(image: RgbImage, size: number, crop: CropConvention = "floor"): RgbImage {
  const [w, h] = shortestSideSize(image.width, image.height, size);
  const resized = w === image.width && h === image.height ? image : resizeBicubic(image, w, h);
  return cropRgb(resized, centerOffset(w, size, crop), centerOffset(h, size, crop), size, size);
}

/** Scales to [0, 1] and normalises with CLIP's mean/std into `out` (CHW) at `offset`. */
export function normalizeInto(image: RgbImage, out: Float32Array, offset = 0): Float32Array {
  const plane = image.width * image.height;
  const { data } = image;
  for (let c = 0; c < 3; c++) {
    const mean = CLIP_MEAN[c]!;
    const std = CLIP_STD[c]!;
    const base = offset + c * plane;
    for (let i = 0; i < plane; i++) out[base + i] = (data[i * 3 + c]! / 255 - mean) / std;
  }
  return out;
}

function checkSize(size: number): void {
  if (!(Number.isInteger(size) && size > 0)) throw new Error(`preprocess: size must be a positive integer`);
}

/** One image (a path or encoded bytes) → Float32Array [3, size, size]. */
export async function preprocessImage(
  input: string | Buffer,
  options: PreprocessOptions,
): Promise<Float32Array> {
  checkSize(options.size);
  const image = resizeAndCrop(await decodeRgb(input), options.size, options.crop);
  return normalizeInto(image, new Float32Array(3 * options.size * options.size));
}

/**
 * Decodes every input at once (sharp's pool) and hands each decoded image to `use` in input order, each in
 * its own turn of the event loop: the main thread works in one short slice per image rather than one block
 * for the batch, so a batch prepared while the device runs the current one lets the device's submits and
 * readbacks (Dawn's ticks are immediates) through between the slices. Decodes finishing together would
 * otherwise run their continuations back to back in one poll phase. A bad image rejects with the first
 * failure in input order, once every decode has settled (none is left running or unobserved).
 */
export async function forEachDecoded(
  inputs: readonly (string | Buffer)[],
  use: (image: RgbImage, index: number) => void,
): Promise<void> {
  const decodes = inputs.map((input) => settle(decodeRgb(input)));
  try {
    for (const [i, decode] of decodes.entries()) {
      const result = await decode;
      if (result.status === "rejected") throw result.reason;
      await nextTurn();
      use(result.value, i);
    }
  } finally {
    await Promise.all(decodes);
  }
}

/** Images → Float32Array [B, 3, size, size], in input order, prepared as `forEachDecoded` says. */
export async function preprocessBatch(
  inputs: readonly (string | Buffer)[],
  options: PreprocessOptions,
): Promise<Float32Array> {
  checkSize(options.size);
  const per = 3 * options.size * options.size;
  const out = new Float32Array(inputs.length * per);
  await forEachDecoded(inputs, (image, i) => {
    normalizeInto(resizeAndCrop(image, options.size, options.crop), out, i * per);
  });
  return out;
}

/** A promise's outcome as a value: observed at once, so a rejection awaited later is never unhandled. */
function settle<T>(promise: Promise<T>): Promise<PromiseSettledResult<T>> {
  return promise.then(
    (value) => ({ status: "fulfilled", value }),
    (reason: unknown) => ({ status: "rejected", reason }),
  );
}

/** Resolves in the event loop's next check phase, after its timers and I/O callbacks have run. */
function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
