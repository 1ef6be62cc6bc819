// A scene: one shape object on a background, rendered in one style (the domain), with its caption.
//   "a sketch of a small red star on stripes"
// Styles (domains): flat (filled), outline (stroke only), textured (filled, pixel noise), sketch (jittered
// strokes on paper, washed-out background), inverted (flat, colours inverted). Pixel effects are applied
// after rasterising (render.ts).

import {
  type Background,
  backgroundSvg,
  backgroundWords,
  COLOURS,
  type ColourName,
  SIZES,
  type SizeName,
} from "./palette.ts";
import { Rng } from "./random.ts";
import { shape } from "./shapes.ts";

export const STYLES = ["flat", "outline", "textured", "sketch", "inverted"] as const;
export type Style = (typeof STYLES)[number];

const STYLE_WORDS: Record<Style, string> = {
  flat: "photo",
  outline: "outline drawing",
  textured: "noisy photo",
  sketch: "sketch",
  inverted: "inverted photo",
};

export interface Scene {
  readonly shape: string;
  readonly colour: ColourName;
  readonly size: SizeName;
  /** Radius in the 100 × 100 frame. */
  readonly radius: number;
  readonly x: number;
  readonly y: number;
  /** Degrees. */
  readonly rotation: number;
  readonly background: Background;
  readonly style: Style;
  /** Seed of the scene's own random stream (background details, sketch jitter, noise). */
  readonly seed: number;
}

/** The free attributes of a scene drawn at random, the given ones fixed. */
export function drawScene(
  rng: Rng,
  fixed: Pick<Scene, "shape" | "colour" | "style" | "background"> & { size?: SizeName },
  sizes: readonly SizeName[] = ["small", "medium", "large"],
): Scene {
  const size = fixed.size ?? rng.pick(sizes);
  const [lo, hi] = SIZES[size];
  const radius = rng.uniform(lo, hi);
  const margin = radius + 3;
  return {
    ...fixed,
    size,
    radius,
    x: rng.uniform(margin, 100 - margin),
    y: rng.uniform(margin, 100 - margin),
    rotation: rng.uniform(-30, 30) + rng.pick([0, 0, 90, 180, 270]),
    seed: Math.floor(rng.next() * 2 ** 32),
  };
}

function article(word: string): string {
  return /^[aeiou]/.test(word) ? "an" : "a";
}

/** Which attributes a caption names besides the shape (all, unless a world drops some). */
export interface CaptionDetail {
  readonly style: boolean;
  readonly size: boolean;
  readonly colour: boolean;
  readonly background: boolean;
}

export const FULL_CAPTION: CaptionDetail = { style: true, size: true, colour: true, background: true };

/** "a sketch of a small red star on stripes"; with fewer details e.g. "a red star" or "a photo of a star". */
export function caption(scene: Scene, detail: CaptionDetail = FULL_CAPTION): string {
  const styleWords = STYLE_WORDS[scene.style];
  const noun = [detail.size ? scene.size : "", detail.colour ? scene.colour : "", shape(scene.shape).words]
    .filter((w) => w !== "")
    .join(" ");
  const object = `${article(noun)} ${noun}`;
  const head = detail.style ? `${article(styleWords)} ${styleWords} of ${object}` : object;
  return detail.background ? `${head} on ${backgroundWords(scene.background.kind)}` : head;
}

/** The scene as an SVG document of `size` × `size` pixels (100 × 100 view box). */
export function sceneSvg(scene: Scene, size: number): string {
  const rng = new Rng(scene.seed);
  const def = shape(scene.shape);
  const colour = COLOURS[scene.colour];
  const transform = `translate(${r(scene.x)} ${r(scene.y)}) rotate(${r(scene.rotation)}) scale(${r(scene.radius)})`;
  const fillRule = def.evenOdd ? ` fill-rule="evenodd"` : "";
  let background = backgroundSvg(scene.background, rng);
  let object: string;
  switch (scene.style) {
    case "flat":
    case "textured":
    case "inverted":
      object = `<path d="${def.path}" transform="${transform}" fill="${colour}"${fillRule} stroke="#000" stroke-opacity="0.35" stroke-width="${r(1.2 / scene.radius)}"/>`;
      break;
    case "outline":
      object = `<path d="${def.path}" transform="${transform}" fill="none" stroke="${colour}" stroke-width="${r(5 / scene.radius)}" stroke-linejoin="round"/>`;
      break;
    case "sketch": {
      // Washed-out background, then two or three jittered strokes of the outline.
      background = `${background}<rect x="0" y="0" width="100" height="100" fill="#fbfaf5" fill-opacity="0.72"/>`;
      const strokes: string[] = [];
      const passes = rng.int(2, 3);
      for (let k = 0; k < passes; k++) {
        const jitter = `translate(${r(scene.x + rng.uniform(-1.6, 1.6))} ${r(scene.y + rng.uniform(-1.6, 1.6))}) rotate(${r(scene.rotation + rng.uniform(-5, 5))}) scale(${r(scene.radius * rng.uniform(0.95, 1.05))})`;
        strokes.push(
          `<path d="${def.path}" transform="${jitter}" fill="none" stroke="${colour}" stroke-opacity="0.85" stroke-width="${r(2.2 / scene.radius)}" stroke-linecap="round"/>`,
        );
      }
      object = strokes.join("");
      break;
    }
  }
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size}" viewBox="0 0 100 100">` +
    `${background}${object}</svg>`
  );
}

function r(v: number): string {
  return String(Math.round(v * 1000) / 1000);
}
