// Images: decoding to RGB, Pillow-exact bicubic resize, CLIP's preprocessing, train-time augmentation and
// a worker-thread loader.

export { decodeRgb } from "./decode.ts";
export { ImageDecodeError, type ImageErrorReason } from "./errors.ts";
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
