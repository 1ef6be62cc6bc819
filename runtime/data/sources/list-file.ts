// `list_file(file, root, classes, include, known, labels)`: `relative/path label` lines (UEO's official image
// lists); the label indexes `classes`. The path is everything before the last run of whitespace.

import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { labelSpace } from "./labels.ts";
import { DataError, type DataItem, type DataSource, type Range } from "./types.ts";

export interface ListFileOptions {
  readonly file: string;
  readonly root: string;
  readonly classes: readonly string[];
  readonly include?: readonly Range[] | undefined;
  readonly known?: readonly string[] | undefined;
  readonly labelsHidden?: boolean;
}

export function listFileSource(options: ListFileOptions): DataSource {
  const { file, root } = options;
  if (!existsSync(file)) throw new DataError(file, "no such file");
  const space = labelSpace(options.classes, options, (m) => new DataError(file, m));
  const items: DataItem[] = [];
  readFileSync(file, "utf8")
    .split(/\r?\n/)
    .forEach((line, n) => {
      const text = line.trim();
      if (text === "") return;
      const m = /^(.*\S)\s+(-?\d+)$/.exec(text);
      if (!m) throw new DataError(`${file}:${n + 1}`, `expected 'path label', got ${JSON.stringify(text)}`);
      const i = Number(m[2]);
      if (i < 0 || i >= options.classes.length) {
        throw new DataError(
          `${file}:${n + 1}`,
          `label ${i} is not a class index in [0, ${options.classes.length})`,
        );
      }
      if (!space.keeps(i)) return;
      items.push({ path: join(root, m[1]!), label: space.relabel(i), index: items.length });
    });
  return {
    description: `list_file(${JSON.stringify(file)})`,
    items,
    classes: space.classes,
    known: space.known,
    labelsHidden: options.labelsHidden ?? false,
  };
}
