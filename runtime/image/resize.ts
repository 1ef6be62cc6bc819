// Bicubic resize exactly as Pillow's `Image.resize(size, Image.BICUBIC)` computes it for 8-bit images
// (libImaging/Resample.c): a separable convolution with Keys' cubic (a = −0.5), support 2 stretched by
// the scale factor when downscaling (so it anti-aliases), weights normalised per output pixel and then
// turned into 22-bit fixed point, the horizontal pass first, its result rounded to uint8, then the
// vertical pass. Written from the algorithm's description; the tests compare it with PIL itself.

import type { RgbImage } from "./rgb.ts";

const PRECISION_BITS = 32 - 8 - 2;
const FIXED_ONE = 1 << PRECISION_BITS;
const HALF = 1 << (PRECISION_BITS - 1);

function bicubic(x: number): number {
  const a = -0.5;
  const t = Math.abs(x);
  if (t < 1) return ((a + 2) * t - (a + 3)) * t * t + 1;
  if (t < 2) return (((t - 5) * t + 8) * t - 4) * a;
  return 0;
}

interface Coefficients {
  /** Per output index: the first input index the kernel reads. */
  readonly first: Int32Array;
  /** Per output index: how many input indices it reads. */
  readonly count: Int32Array;
  /** Fixed-point weights, `ksize` per output index. */
  readonly weights: Int32Array;
  readonly ksize: number;
}

/** The weights mapping `inSize` samples onto `outSize` (the whole extent: Pillow's box [0, inSize]). */
function coefficients(inSize: number, outSize: number): Coefficients {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = 2 * filterScale;
  const ksize = Math.ceil(support) * 2 + 1;
  const first = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Int32Array(outSize * ksize);
  const row = new Float64Array(ksize);
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    const inv = 1 / filterScale;
    // C's (int) conversion truncates toward zero; Pillow clamps afterwards.
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const xmax = Math.min(Math.trunc(center + support + 0.5), inSize) - xmin;
    let total = 0;
    for (let x = 0; x < xmax; x++) {
      const w = bicubic((x + xmin - center + 0.5) * inv);
      row[x] = w;
      total += w;
    }
    for (let x = 0; x < xmax; x++) {
      const w = total !== 0 ? row[x]! / total : row[x]!;
      weights[xx * ksize + x] = Math.trunc(w < 0 ? -0.5 + w * FIXED_ONE : 0.5 + w * FIXED_ONE);
    }
    first[xx] = xmin;
    count[xx] = xmax;
  }
  return { first, count, weights, ksize };
}

function clip8(sum: number): number {
  const v = sum >> PRECISION_BITS;
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

/** Resizes an RGB image to `width × height` with Pillow's bicubic filter (bit-exact on 8-bit input). */
export function resizeBicubic(image: RgbImage, width: number, height: number): RgbImage {
  if (!(Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0)) {
    throw new Error(`cannot resize to ${width}×${height}`);
  }
  let current = image;
  const vertical = coefficients(image.height, height);
  if (width !== image.width) {
    // Only the rows the vertical pass reads are resampled horizontally, as Pillow does.
    const firstRow = vertical.first[0]!;
    const lastRow = vertical.first[height - 1]! + vertical.count[height - 1]!;
    current = horizontal(image, width, firstRow, lastRow - firstRow);
    for (let i = 0; i < height; i++) vertical.first[i] = vertical.first[i]! - firstRow;
  }
  if (height !== image.height) current = verticalPass(current, height, vertical);
  return current;
}

function horizontal(image: RgbImage, width: number, firstRow: number, rows: number): RgbImage {
  const { first, count, weights, ksize } = coefficients(image.width, width);
  const src = image.data;
  const out = new Uint8Array(width * rows * 3);
  for (let y = 0; y < rows; y++) {
    const rowStart = (y + firstRow) * image.width * 3;
    for (let xx = 0; xx < width; xx++) {
      let r = HALF;
      let g = HALF;
      let b = HALF;
      const n = count[xx]!;
      const k = xx * ksize;
      let p = rowStart + first[xx]! * 3;
      for (let x = 0; x < n; x++, p += 3) {
        const w = weights[k + x]!;
        r += src[p]! * w;
        g += src[p + 1]! * w;
        b += src[p + 2]! * w;
      }
      const o = (y * width + xx) * 3;
      out[o] = clip8(r);
      out[o + 1] = clip8(g);
      out[o + 2] = clip8(b);
    }
  }
  return { width, height: rows, data: out };
}

function verticalPass(image: RgbImage, height: number, c: Coefficients): RgbImage {
  const { first, count, weights, ksize } = c;
  const src = image.data;
  const stride = image.width * 3;
  const out = new Uint8Array(height * stride);
  for (let yy = 0; yy < height; yy++) {
    const n = count[yy]!;
    const k = yy * ksize;
    const base = first[yy]! * stride;
    for (let i = 0; i < stride; i++) {
      let s = HALF;
      let p = base + i;
      for (let y = 0; y < n; y++, p += stride) s += src[p]! * weights[k + y]!;
      out[yy * stride + i] = clip8(s);
    }
  }
  return { width: image.width, height, data: out };
}
