// Decoding JPEG/PNG/WebP (anything sharp reads) to 8-bit RGB the way PIL's `Image.open(p).convert("RGB")`
// does: grey is replicated into R, G and B; an alpha channel is dropped, not composited (PIL's RGBA → RGB
// keeps the colour channels as they are); a palette image is looked up; 16-bit samples are scaled to 8.
// EXIF orientation is not applied (neither PIL's open nor CLIP's preprocessing applies it).

import { readFile } from "node:fs/promises";
import sharp from "sharp";
import { ImageDecodeError } from "./errors.ts";
import type { RgbImage } from "./rgb.ts";

/** Decodes a file path or an encoded buffer. A missing or undecodable file raises ImageDecodeError. */
export async function decodeRgb(input: string | Buffer | Uint8Array): Promise<RgbImage> {
  const label = typeof input === "string" ? input : "<buffer>";
  let bytes: Buffer | Uint8Array;
  if (typeof input === "string") {
    try {
      bytes = await readFile(input);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      throw new ImageDecodeError(
        label,
        code === "ENOENT" ? "missing" : "corrupt",
        code === "ENOENT" ? "the file does not exist" : (error as Error).message,
      );
    }
  } else {
    bytes = input;
  }
  try {
    const { data, info } = await sharp(bytes, { failOn: "error", limitInputPixels: 1 << 28 })
      .toColourspace("srgb")
      .raw()
      .toBuffer({ resolveWithObject: true });
    const { width, height, channels } = info;
    const pixels = width * height;
    const out = new Uint8Array(pixels * 3);
    if (channels === 3) {
      out.set(data);
    } else if (channels === 4) {
      for (let i = 0; i < pixels; i++) {
        out[i * 3] = data[i * 4]!;
        out[i * 3 + 1] = data[i * 4 + 1]!;
        out[i * 3 + 2] = data[i * 4 + 2]!;
      }
    } else if (channels === 1 || channels === 2) {
      for (let i = 0; i < pixels; i++) {
        const v = data[i * channels]!;
        out[i * 3] = v;
        out[i * 3 + 1] = v;
        out[i * 3 + 2] = v;
      }
    } else {
      throw new ImageDecodeError(label, "unsupported", `${channels} channels`);
    }
    return { width, height, data: out };
  } catch (error) {
    if (error instanceof ImageDecodeError) throw error;
    const detail = (error as Error).message.split("\n")[0] ?? "unknown error";
    throw new ImageDecodeError(label, "corrupt", detail);
  }
}
