// What a world generator produces before any pixel is drawn: the images (path, split, label, class,
// domain, group, attribute, task and the scene), the class list and the extra files of each part. A plan
// is a pure function of (world, seed, count); make.ts renders and writes it.

import type { Scene } from "./scene.ts";

export const WORLDS = ["ueo", "cfr", "clap4clip", "apex", "captions"] as const;
export type WorldName = (typeof WORLDS)[number];

export interface PlannedImage {
  /** Relative to the part's folder: `<split>/<class>/<index>.png`. */
  readonly path: string;
  readonly split: string;
  readonly label: number;
  readonly className: string;
  readonly group?: number;
  readonly attribute?: number;
  readonly task?: number;
  readonly scene: Scene;
  /** The manifest's caption when the world words it itself (default: the scene's full caption). */
  readonly caption?: string;
}

/** One data set of a world (APEX has two: easy and crowded; the others one, at the root). */
export interface WorldPart {
  /** Folder relative to the world root ("" = the root). */
  readonly dir: string;
  readonly classes: readonly string[];
  readonly images: readonly PlannedImage[];
  /** Extra text files (relative to the part's folder), e.g. shifts.json, templates.txt, list files. */
  readonly files: Readonly<Record<string, string>>;
  readonly meta: Readonly<Record<string, unknown>>;
}

export interface WorldPlan {
  readonly world: WorldName;
  readonly seed: number;
  readonly parts: readonly WorldPart[];
  readonly meta: Readonly<Record<string, unknown>>;
}

export interface PlanOptions {
  readonly seed: number;
  /** About how many images in all (each world has a default). */
  readonly count?: number;
}

/**
 * Split `total` into parts proportional to `weights` by largest remainder (ties to the lower index); then
 * every part of positive weight below `min` is raised to it, taking one at a time from the largest part.
 */
export function allocate(total: number, weights: readonly number[], min = 0): number[] {
  const sum = weights.reduce((a, b) => a + b, 0);
  const exact = weights.map((w) => (sum > 0 ? (total * w) / sum : 0));
  const out = exact.map(Math.floor);
  let left = total - out.reduce((a, b) => a + b, 0);
  const order = exact
    .map((v, i) => [v - Math.floor(v), i] as const)
    .sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  for (let k = 0; left > 0; k = (k + 1) % order.length, left--) out[order[k]![1]]!++;
  for (let i = 0; i < out.length; i++) {
    while (weights[i]! > 0 && out[i]! < min) {
      const largest = out.indexOf(Math.max(...out));
      if (largest === i || out[largest]! <= min) break;
      out[largest]!--;
      out[i]!++;
    }
  }
  return out;
}

export function imagePath(split: string, className: string, index: number): string {
  return `${split}/${className}/${String(index).padStart(6, "0")}.png`;
}

/** `root/<…>` list file lines: `relative/path label` (UEO's official image lists). */
export function listFile(images: readonly PlannedImage[]): string {
  return images.map((im) => `${im.path} ${im.label}\n`).join("");
}

export function lines(items: readonly string[]): string {
  return items.map((s) => `${s}\n`).join("");
}

/** Inclusive index ranges as text, e.g. [[0, 5], [8, 9]] → "0–5 ∪ 8–9". */
export function rangesText(ranges: readonly (readonly [number, number])[]): string {
  return ranges.map(([a, b]) => (a === b ? `${a}` : `${a}–${b}`)).join(" ∪ ");
}

export function inRanges(i: number, ranges: readonly (readonly [number, number])[]): boolean {
  return ranges.some(([a, b]) => i >= a && i <= b);
}
