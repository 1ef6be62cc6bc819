// One image's work, the same in a worker thread and inline: decode, then CLIP's eval preprocessing or the
// train-time augmentation, normalised into CHW floats.

import { type AugmentOptions, augmentRgb } from "./augment.ts";
import { decodeRgb } from "./decode.ts";
import { type CropConvention, normalizeInto, resizeAndCrop } from "./preprocess.ts";

export interface ImageJob {
  /** A file path, or encoded bytes. */
  input: string | Uint8Array;
  /** Train-time augmentation (RandomResizedCrop + flip) instead of resize + centre crop. */
  augment?: Omit<AugmentOptions, "size">;
}

export interface JobSettings {
  size: number;
  crop?: CropConvention;
}

export async function runImageJob(job: ImageJob, settings: JobSettings): Promise<Float32Array> {
  const image = await decodeRgb(job.input);
  const out = job.augment
    ? augmentRgb(image, { ...job.augment, size: settings.size })
    : resizeAndCrop(image, settings.size, settings.crop);
  return normalizeInto(out, new Float32Array(3 * settings.size * settings.size));
}
