// Colours, sizes and background kinds of the synthetic scenes, with the words captions use for them.
// Scenes are drawn in a 100 × 100 frame; the image size only scales the rasterisation.

import type { Rng } from "./random.ts";

export const COLOURS = {
  red: "#d62728",
  green: "#2ca02c",
  blue: "#1f5fd4",
  yellow: "#f2c80f",
  orange: "#ff7f0e",
  purple: "#8e44ad",
  pink: "#e377c2",
  brown: "#8c564b",
  black: "#222222",
  grey: "#8a8a8a",
  cyan: "#17becf",
} as const;

export type ColourName = keyof typeof COLOURS;
export const COLOUR_NAMES = Object.keys(COLOURS) as ColourName[];

/** Light background tints (never one of the object colours, so objects stay visible). */
const TINTS = ["#f4efe6", "#e8f1f8", "#eef6e9", "#f8eef3", "#f1f1f1", "#fbf6dc", "#e9e6f5"];

export const SIZES = { small: [14, 19], medium: [21, 27], large: [30, 38] } as const;
export type SizeName = keyof typeof SIZES;
export const SIZE_NAMES = Object.keys(SIZES) as SizeName[];

export const BACKGROUNDS = [
  "plain",
  "stripes",
  "dots",
  "grid",
  "checker",
  "gradient",
  "waves",
  "grass",
] as const;
export type BackgroundKind = (typeof BACKGROUNDS)[number];

const BACKGROUND_WORDS: Record<BackgroundKind, string> = {
  plain: "a plain background",
  stripes: "stripes",
  dots: "dots",
  grid: "a grid",
  checker: "a checkerboard",
  gradient: "a gradient",
  waves: "water",
  grass: "grass",
};

export function backgroundWords(kind: BackgroundKind): string {
  return BACKGROUND_WORDS[kind];
}

/** A background fully determined by its kind and a few drawn numbers. */
export interface Background {
  readonly kind: BackgroundKind;
  readonly tint: string;
  readonly ink: string;
  readonly period: number;
  readonly angle: number;
}

export function drawBackground(rng: Rng, kind: BackgroundKind): Background {
  const tint =
    kind === "waves"
      ? rng.pick(["#cfe3f7", "#d8ecf5", "#c4dcf0"])
      : kind === "grass"
        ? rng.pick(["#e9e3c8", "#e2ecd0"])
        : rng.pick(TINTS);
  const ink =
    kind === "waves"
      ? rng.pick(["#3d7cc9", "#2f6db5", "#5592d8"])
      : kind === "grass"
        ? rng.pick(["#4f8f3a", "#5e9e2f", "#3f7d36"])
        : rng.pick(["#b9b9c8", "#c9b8a8", "#a9c4b9", "#c7a9bd", "#b5c0d6"]);
  return { kind, tint, ink, period: rng.uniform(9, 16), angle: rng.pick([0, 45, 90, 135]) };
}

/** The background as SVG elements covering the 100 × 100 frame. */
export function backgroundSvg(b: Background, rng: Rng): string {
  const base = `<rect x="0" y="0" width="100" height="100" fill="${b.tint}"/>`;
  const p = b.period;
  const parts: string[] = [];
  switch (b.kind) {
    case "plain":
      break;
    case "stripes":
      for (let x = -60; x < 160; x += p) {
        parts.push(`<rect x="${r(x)}" y="-60" width="${r(p / 2)}" height="220" fill="${b.ink}"/>`);
      }
      return `${base}<g transform="rotate(${b.angle} 50 50)">${parts.join("")}</g>`;
    case "dots":
      for (let y = p / 2; y < 100; y += p) {
        for (let x = p / 2; x < 100; x += p)
          parts.push(`<circle cx="${r(x)}" cy="${r(y)}" r="${r(p / 5)}" fill="${b.ink}"/>`);
      }
      break;
    case "grid":
      for (let v = p / 2; v < 100; v += p) {
        parts.push(`<path d="M${r(v)} 0 V100 M0 ${r(v)} H100" stroke="${b.ink}" stroke-width="1.6"/>`);
      }
      break;
    case "checker":
      for (let y = 0, i = 0; y < 100; y += p, i++) {
        for (let x = 0, j = 0; x < 100; x += p, j++) {
          if ((i + j) % 2 === 0)
            parts.push(`<rect x="${r(x)}" y="${r(y)}" width="${r(p)}" height="${r(p)}" fill="${b.ink}"/>`);
        }
      }
      break;
    case "gradient":
      return (
        `<defs><linearGradient id="bg" gradientTransform="rotate(${b.angle} 0.5 0.5)">` +
        `<stop offset="0" stop-color="${b.tint}"/><stop offset="1" stop-color="${b.ink}"/></linearGradient></defs>` +
        `<rect x="0" y="0" width="100" height="100" fill="url(#bg)"/>`
      );
    case "waves":
      for (let y = p / 2; y < 104; y += p * 0.8) {
        let d = `M-5 ${r(y)}`;
        for (let x = -5; x < 105; x += p) d += ` q${r(p / 4)} ${r(-p / 4)} ${r(p / 2)} 0 t${r(p / 2)} 0`;
        parts.push(`<path d="${d}" fill="none" stroke="${b.ink}" stroke-width="2"/>`);
      }
      break;
    case "grass":
      for (let k = 0; k < 70; k++) {
        const x = rng.uniform(0, 100);
        const y = rng.uniform(4, 104);
        const h = rng.uniform(5, 10);
        parts.push(
          `<path d="M${r(x)} ${r(y)} l${r(rng.uniform(-2, 2))} ${r(-h)}" stroke="${b.ink}" stroke-width="1.5"/>`,
        );
      }
      break;
  }
  return base + parts.join("");
}

function r(v: number): string {
  return String(Math.round(v * 100) / 100);
}
