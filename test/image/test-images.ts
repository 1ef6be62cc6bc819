// Varied test images written with sharp, deterministically: noise, gradients, hard edges and photo-like
// smooth texture; landscape, portrait, odd and near-square sizes; downscales and small upscales; PNG,
// JPEG and WebP; RGB, RGBA, grey and palette PNGs. `large` gives sizes typical of photos (for the 224-px
// parity measurement); otherwise small ones (for the committed fixture).

import { mkdirSync } from "node:fs";
import { join } from "node:path";
import sharp from "sharp";

type Kind = "noise" | "grad" | "edges" | "photo";
type Format = "png" | "jpg" | "webp";

function pixels(w: number, h: number, kind: Kind, channels: number, seed: number): Buffer {
  let s = seed >>> 0;
  const rnd = () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32;
  const b = Buffer.alloc(w * h * channels);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let c = 0; c < channels; c++) {
        let v: number;
        if (kind === "noise") v = rnd() * 256;
        else if (kind === "grad") v = (((x / w) * 255 * (c + 1) + (y / h) * 80) % 256) + 0;
        else if (kind === "edges") v = ((Math.floor(x / 7) + Math.floor(y / 5) + c) % 2) * 255;
        else v = 128 + 100 * Math.sin(x * 0.1 * (c + 1)) * Math.cos(y * 0.07) + rnd() * 20;
        b[(y * w + x) * channels + c] = Math.max(0, Math.min(255, Math.floor(v)));
      }
    }
  }
  return b;
}

interface Spec {
  name: string;
  size: [number, number];
  large: [number, number];
  kind: Kind;
  channels: 1 | 3 | 4;
  format: Format;
  palette?: boolean;
}

const SPECS: Spec[] = [
  { name: "noise-landscape", size: [64, 48], large: [320, 240], kind: "noise", channels: 3, format: "png" },
  { name: "gradient-portrait", size: [37, 71], large: [181, 353], kind: "grad", channels: 3, format: "png" },
  { name: "edges-odd", size: [51, 40], large: [257, 199], kind: "edges", channels: 3, format: "png" },
  { name: "photo", size: [96, 64], large: [640, 427], kind: "photo", channels: 3, format: "jpg" },
  { name: "photo-portrait", size: [45, 75], large: [300, 500], kind: "photo", channels: 3, format: "webp" },
  { name: "upscale", size: [17, 23], large: [17, 23], kind: "noise", channels: 3, format: "png" },
  { name: "upscale-tiny", size: [5, 9], large: [5, 9], kind: "grad", channels: 3, format: "png" },
  { name: "rgba", size: [50, 33], large: [150, 97], kind: "photo", channels: 4, format: "png" },
  { name: "grey", size: [41, 43], large: [113, 131], kind: "photo", channels: 1, format: "png" },
  {
    name: "palette",
    size: [45, 35],
    large: [90, 70],
    kind: "photo",
    channels: 3,
    format: "png",
    palette: true,
  },
  { name: "near-square", size: [33, 34], large: [225, 226], kind: "edges", channels: 3, format: "png" },
  { name: "wide", size: [120, 31], large: [900, 230], kind: "noise", channels: 3, format: "jpg" },
  { name: "odd-jpeg", size: [43, 35], large: [333, 251], kind: "grad", channels: 3, format: "jpg" },
];

/** Writes the images into `dir` (created); returns their paths. */
export async function writeTestImages(dir: string, large = false): Promise<string[]> {
  mkdirSync(dir, { recursive: true });
  const paths: string[] = [];
  for (const [i, spec] of SPECS.entries()) {
    const [w, h] = large ? spec.large : spec.size;
    const raw = pixels(w, h, spec.kind, spec.channels, 1000 + i);
    let image = sharp(raw, { raw: { width: w, height: h, channels: spec.channels } });
    if (spec.format === "png") image = image.png(spec.palette ? { palette: true, colours: 32 } : {});
    else if (spec.format === "jpg") image = image.jpeg({ quality: 90 });
    else image = image.webp({ quality: 85 });
    const path = join(dir, `${spec.name}.${spec.format}`);
    await image.toFile(path);
    paths.push(path);
  }
  return paths;
}
