// Rasterise scenes with sharp: SVG → RGB pixels → style effects (noise, inversion) → PNG. The PNG bytes
// depend only on the scene and the size (fixed encoder settings, no metadata), so a seed gives the same files.

import sharp from "sharp";
import { Rng } from "./random.ts";
import { type Scene, sceneSvg } from "./scene.ts";

sharp.cache(false);

export async function renderScene(scene: Scene, size: number): Promise<Buffer> {
  const raw = await sharp(Buffer.from(sceneSvg(scene, size)), { density: 72 })
    .flatten({ background: "#ffffff" })
    .removeAlpha()
    .raw()
    .toBuffer();
  if (scene.style === "textured") addNoise(raw, new Rng(scene.seed ^ 0x9e3779b9), 38);
  if (scene.style === "sketch") addNoise(raw, new Rng(scene.seed ^ 0x7f4a7c15), 10);
  if (scene.style === "inverted") for (let i = 0; i < raw.length; i++) raw[i] = 255 - raw[i]!;
  return sharp(raw, { raw: { width: size, height: size, channels: 3 } })
    .png({ compressionLevel: 6, adaptiveFiltering: false, palette: false })
    .toBuffer();
}

/** Per-pixel luminance noise plus a little per-channel noise, clamped to [0, 255]. */
function addNoise(pixels: Buffer, rng: Rng, amplitude: number): void {
  for (let i = 0; i < pixels.length; i += 3) {
    const shared = rng.normal() * amplitude * 0.7;
    for (let c = 0; c < 3; c++) {
      const v = pixels[i + c]! + shared + rng.normal() * amplitude * 0.3;
      pixels[i + c] = v < 0 ? 0 : v > 255 ? 255 : Math.round(v);
    }
  }
}

/** Run `work` over `items` with at most `concurrency` in flight, in any order; results by index. */
export async function pool<T, R>(
  items: readonly T[],
  concurrency: number,
  work: (item: T, index: number) => Promise<R>,
  onDone?: (index: number) => void,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const runner = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await work(items[i]!, i);
      onDone?.(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, runner));
  return results;
}
