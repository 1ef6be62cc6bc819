// An 8-bit RGB image, rows top to bottom, pixels interleaved (HWC): what decoding yields and what the
// resize, crop and flip steps take and give.

export interface RgbImage {
  readonly width: number;
  readonly height: number;
  /** width × height × 3 bytes, R G B per pixel. */
  readonly data: Uint8Array;
}

export function rgbImage(width: number, height: number, data?: Uint8Array): RgbImage {
  const bytes = data ?? new Uint8Array(width * height * 3);
  if (bytes.length !== width * height * 3) {
    throw new Error(
      `an RGB image of ${width}×${height} needs ${width * height * 3} bytes, got ${bytes.length}`,
    );
  }
  return { width, height, data: bytes };
}

/** The sub-image of `w × h` pixels whose top-left corner is (left, top); it must lie inside the image. */
export function cropRgb(image: RgbImage, left: number, top: number, w: number, h: number): RgbImage {
  if (left < 0 || top < 0 || w <= 0 || h <= 0 || left + w > image.width || top + h > image.height) {
    throw new Error(
      `crop ${w}×${h} at (${left}, ${top}) is outside the ${image.width}×${image.height} image`,
    );
  }
  const out = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    const from = ((top + y) * image.width + left) * 3;
    out.set(image.data.subarray(from, from + w * 3), y * w * 3);
  }
  return { width: w, height: h, data: out };
}

/** Mirrors the image left to right. */
export function flipRgb(image: RgbImage): RgbImage {
  const { width, height, data } = image;
  const out = new Uint8Array(data.length);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const s = (y * width + x) * 3;
      const d = (y * width + (width - 1 - x)) * 3;
      out[d] = data[s]!;
      out[d + 1] = data[s + 1]!;
      out[d + 2] = data[s + 2]!;
    }
  }
  return { width, height, data: out };
}
