// Inputs and outputs of `vlmp embed`: image paths from files and folders, text lines, the features file.

import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { writeSafetensors } from "../checkpoint/index.ts";

export const IMAGE_EXTENSIONS = /\.(jpe?g|png|webp|gif|tiff?|avif)$/i;

/**
 * Files as given; folders walked recursively (sorted by name at each level), keeping image extensions.
 * A path that does not exist is an error naming it.
 */
export function collectImagePaths(paths: readonly string[]): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    const entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) =>
      a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
    );
    for (const entry of entries) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (IMAGE_EXTENSIONS.test(entry.name)) out.push(path);
    }
  };
  for (const path of paths) {
    let isDir: boolean;
    try {
      isDir = statSync(path).isDirectory();
    } catch {
      throw new Error(`${path}: no such file or folder`);
    }
    if (isDir) walk(path);
    else out.push(path);
  }
  return out;
}

/** One text per line; a trailing newline adds no text; `\r\n` line ends are accepted. Empty lines count. */
export function readTextLines(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const lines = text.split(/\r?\n/);
  if (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
  return lines;
}

export interface FeaturesFile {
  kind: "image" | "text";
  features: Float32Array;
  count: number;
  dim: number;
  /** Image paths or texts, in row order. */
  items: readonly string[];
  metadata?: Record<string, string>;
}

/** Writes `image_features` or `text_features` [N, E] with the row order as `paths` / `texts` metadata. */
export function writeFeatures(out: string, file: FeaturesFile): void {
  writeSafetensors(
    out,
    [{ name: `${file.kind}_features`, shape: [file.count, file.dim], data: file.features }],
    { ...file.metadata, [file.kind === "image" ? "paths" : "texts"]: JSON.stringify(file.items) },
  );
}
