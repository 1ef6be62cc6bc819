// Train-time augmentation as torchvision's RandomResizedCrop(size, scale, ratio, bicubic) followed by
// RandomHorizontalFlip(0.5): the same sampling procedure (ten tries at an area and a log-uniform aspect
// ratio, then the centre-crop fallback), the crop resized with Pillow's bicubic. The random numbers come
// from Philox keyed by the seed, with the counter holding (index, epoch): the same (seed, epoch, index)
// always gives the same crop and flip, whatever the order or the thread the images are loaded in.

import { philox4x32 } from "../reference/philox.ts";
import { decodeRgb } from "./decode.ts";
import { normalizeInto } from "./preprocess.ts";
import { resizeBicubic } from "./resize.ts";
import { cropRgb, flipRgb, type RgbImage } from "./rgb.ts";

export interface AugmentOptions {
  /** Output side in pixels. */
  size: number;
  seed: number;
  epoch: number;
  /** The sample's index in its data set (not its position in a shuffled order). */
  index: number;
  /** Fraction of the image's area the crop covers, sampled uniformly (torchvision's default 0.08–1). */
  scale?: readonly [number, number];
  /** Aspect ratio range, sampled log-uniformly (default 3/4–4/3). */
  ratio?: readonly [number, number];
  /** Flip horizontally with probability 0.5 (default true). */
  flip?: boolean;
}

export const DEFAULT_SCALE: readonly [number, number] = [0.08, 1];
export const DEFAULT_RATIO: readonly [number, number] = [3 / 4, 4 / 3];

const TWO_32 = 2 ** 32;

/** Python's round(): half to even (torchvision rounds crop sides with it). */
function pyRound(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Uniform doubles in [0, 1), a stream determined by (seed, epoch, index). */
export function augmentRandom(seed: number, epoch: number, index: number): () => number {
  const key = [(seed % TWO_32) >>> 0, Math.floor(seed / TWO_32) >>> 0] as const;
  let draw = 0;
  return () => {
    const [w0, w1] = philox4x32(
      [(index % TWO_32) >>> 0, Math.floor(index / TWO_32) >>> 0, epoch >>> 0, draw++ >>> 0],
      key,
    );
    return (w0 * 2 ** 21 + (w1 >>> 11)) * 2 ** -53;
  };
}

export interface CropBox {
  top: number;
  left: number;
  height: number;
  width: number;
}

/** torchvision's RandomResizedCrop.get_params with `random` as its source of uniforms. */
export function randomResizedCropBox(
  width: number,
  height: number,
  random: () => number,
  scale: readonly [number, number] = DEFAULT_SCALE,
  ratio: readonly [number, number] = DEFAULT_RATIO,
): CropBox {
  const area = width * height;
  const logLo = Math.log(ratio[0]);
  const logHi = Math.log(ratio[1]);
  for (let attempt = 0; attempt < 10; attempt++) {
    const targetArea = area * (scale[0] + (scale[1] - scale[0]) * random());
    const aspect = Math.exp(logLo + (logHi - logLo) * random());
    const w = pyRound(Math.sqrt(targetArea * aspect));
    const h = pyRound(Math.sqrt(targetArea / aspect));
    if (w > 0 && w <= width && h > 0 && h <= height) {
      const top = Math.floor(random() * (height - h + 1));
      const left = Math.floor(random() * (width - w + 1));
      return { top, left, height: h, width: w };
    }
  }
  const inRatio = width / height;
  let w = width;
  let h = height;
  if (inRatio < Math.min(ratio[0], ratio[1])) {
    h = pyRound(w / Math.min(ratio[0], ratio[1]));
  } else if (inRatio > Math.max(ratio[0], ratio[1])) {
    w = pyRound(h * Math.max(ratio[0], ratio[1]));
  }
  return { top: Math.floor((height - h) / 2), left: Math.floor((width - w) / 2), height: h, width: w };
}

/** RandomResizedCrop + horizontal flip on 8-bit RGB: a `size × size` image. */
export function augmentRgb(image: RgbImage, options: AugmentOptions): RgbImage {
  const random = augmentRandom(options.seed, options.epoch, options.index);
  const box = randomResizedCropBox(image.width, image.height, random, options.scale, options.ratio);
  const crop = cropRgb(image, box.left, box.top, box.width, box.height);
  const resized = resizeBicubic(crop, options.size, options.size);
  return options.flip !== false && random() < 0.5 ? flipRgb(resized) : resized;
}

/** Decode + augment + CLIP normalisation: Float32Array [3, size, size]. */
export async function augmentImage(input: string | Buffer, options: AugmentOptions): Promise<Float32Array> {
  const image = augmentRgb(await decodeRgb(input), options);
  return normalizeInto(image, new Float32Array(3 * options.size * options.size));
}
