// Images: decoding to RGB, Pillow-exact bicubic resize, CLIP's preprocessing, train-time augmentation and
// a worker-thread loader; the `bad_images` screen that leaves unreadable images out of a source.

export {
  type AugmentOptions,
  augmentImage,
  augmentRandom,
  augmentRgb,
  type CropBox,
  DEFAULT_RATIO,
  DEFAULT_SCALE,
  randomResizedCropBox,
} from "./augment.ts";
export { type BadImagePolicy, BadImages, badImagePolicy, type SkippedImage } from "./bad-images.ts";
export { decodeRgb } from "./decode.ts";
export { ImageDecodeError, type ImageErrorReason } from "./errors.ts";
export { type ImageJob, type JobSettings, runImageJob } from "./job.ts";
export {
  type BatchOptions,
  defaultWorkerCount,
  type ImageBatch,
  ImagePool,
  loadImageBatches,
  type PoolOptions,
} from "./pool.ts";
export {
  CLIP_MEAN,
  CLIP_STD,
  type CropConvention,
  centerOffset,
  normalizeInto,
  type PreprocessOptions,
  preprocessBatch,
  preprocessImage,
  resizeAndCrop,
  shortestSideSize,
} from "./preprocess.ts";
export { resizeBicubic } from "./resize.ts";
export { cropRgb, flipRgb, type RgbImage, rgbImage } from "./rgb.ts";
