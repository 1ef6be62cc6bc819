// Runs bench/ref/preprocess_reference.py (PIL, as HF's CLIPImageProcessor and torchvision compute CLIP's
// preprocessing) and compares vlmp's preprocessing with its output.

import { spawnSync } from "node:child_process";
import { decodeRgb } from "../../runtime/image/decode.ts";
import { type CropConvention, resizeAndCrop } from "../../runtime/image/preprocess.ts";

export interface PilImage {
  path: string;
  width: number;
  height: number;
  resized: [number, number];
  /** size × size × 3 bytes (HWC), base64. */
  uint8: string;
  /** float32 CHW, little endian, base64. */
  normalized?: string;
}

export interface PilRun {
  pil: string;
  size: number;
  crop: CropConvention;
  images: PilImage[];
}

const probe = spawnSync("/usr/bin/python3", ["-c", "import PIL, numpy"], { encoding: "utf8" });
/** Why PIL cannot be used here ("" when it can). */
export const pilUnavailable = probe.error
  ? `/usr/bin/python3 not runnable (${probe.error.message})`
  : probe.status !== 0
    ? "PIL (python3-pil) or numpy is not importable by /usr/bin/python3"
    : "";

export function runPil(paths: readonly string[], size: number, crop: CropConvention): PilRun {
  const run = spawnSync(
    "/usr/bin/python3",
    ["bench/ref/preprocess_reference.py", "--size", String(size), "--crop", crop, ...paths],
    { encoding: "utf8", maxBuffer: 1 << 30 },
  );
  if (run.status !== 0) throw new Error(`preprocess_reference.py failed: ${run.stderr}`);
  return JSON.parse(run.stdout) as PilRun;
}

export interface Difference {
  images: number;
  /** Images whose every byte agrees. */
  exact: number;
  /** Max and mean absolute difference in [0, 255] units over all bytes. */
  max: number;
  mean: number;
}

/** vlmp's uint8 resize + crop against PIL's, per run. */
export async function compareWithPil(run: PilRun): Promise<Difference> {
  let max = 0;
  let sum = 0;
  let count = 0;
  let exact = 0;
  for (const image of run.images) {
    const want = Buffer.from(image.uint8, "base64");
    const got = resizeAndCrop(await decodeRgb(image.path), run.size, run.crop).data;
    if (got.length !== want.length) throw new Error(`${image.path}: ${got.length} bytes, PIL ${want.length}`);
    let m = 0;
    for (let i = 0; i < want.length; i++) {
      const d = Math.abs(want[i]! - got[i]!);
      if (d > m) m = d;
      sum += d;
    }
    count += want.length;
    if (m === 0) exact++;
    max = Math.max(max, m);
  }
  return { images: run.images.length, exact, max, mean: count ? sum / count : 0 };
}
