// `folder(root, classes, include, known, labels)`: `root/<class name>/…/*.{png,jpg,…}`. Class folders are
// matched to `classes` by name (`_` and space count as the same); a folder not in the list is an error, a
// class without a folder has no items. Order: classes in list order, files sorted by path within each.

import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { labelSpace } from "./labels.ts";
import { DataError, type DataItem, type DataSource, type Range } from "./types.ts";

export const IMAGE_EXTENSIONS = /\.(png|jpe?g|webp|gif|tiff?|avif|bmp)$/i;

export interface FolderOptions {
  readonly root: string;
  readonly classes: readonly string[];
  readonly include?: readonly Range[] | undefined;
  readonly known?: readonly string[] | undefined;
  readonly labelsHidden?: boolean;
}

const key = (name: string) => name.replace(/_/g, " ").toLowerCase();

/** Image files under `dir`, recursively, sorted by relative path (byte order). */
export function imagesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true }).sort((a, b) => cmp(a.name, b.name))) {
      const p = join(d, entry.name);
      if (entry.isDirectory()) walk(p);
      else if (IMAGE_EXTENSIONS.test(entry.name)) out.push(p);
    }
  };
  walk(dir);
  return out;
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export function folderSource(options: FolderOptions): DataSource {
  const { root } = options;
  if (!existsSync(root) || !statSync(root).isDirectory()) throw new DataError(root, "no such folder");
  const space = labelSpace(options.classes, options, (m) => new DataError(root, m));
  const byKey = new Map(options.classes.map((c, i) => [key(c), i] as const));
  const folders = new Map<number, string>();
  for (const entry of readdirSync(root, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    const i = byKey.get(key(entry.name));
    if (i === undefined) {
      throw new DataError(
        join(root, entry.name),
        `the folder is not a class of the list (${options.classes.length} classes); add it to the class list or move it away`,
      );
    }
    folders.set(i, join(root, entry.name));
  }
  if (folders.size === 0) throw new DataError(root, "holds no class folders");
  const items: DataItem[] = [];
  options.classes.forEach((_, i) => {
    const dir = folders.get(i);
    if (dir === undefined || !space.keeps(i)) return;
    const label = space.relabel(i);
    for (const path of imagesUnder(dir)) items.push({ path, label, index: items.length });
  });
  return {
    description: `folder(${JSON.stringify(root)})`,
    items,
    classes: space.classes,
    known: space.known,
    labelsHidden: options.labelsHidden ?? false,
  };
}
