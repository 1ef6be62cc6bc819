// `csv(file, root, path_column, label, group, attribute, domain, split, task, caption, keep, classes, known,
// labels)`:
// a manifest with a header (the synthetic worlds' manifest.csv, Waterbirds' metadata.csv). Labels are class
// indices, or class names when `classes` is given and the cell is not a number. `keep` keeps the rows whose
// `split` column (default "split") equals it. Without a `group` column, an `attribute` column makes the group
// label × #attributes + attribute (METHODS §6.3). Rows keep the file's order.

import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { parseCsv } from "../synthetic/manifest.ts";
import { labelSpace } from "./labels.ts";
import { DataError, type DataItem, type DataSource } from "./types.ts";

export interface CsvOptions {
  readonly file: string;
  /** Image paths are relative to it; default the manifest's folder. */
  readonly root?: string | undefined;
  readonly pathColumn?: string;
  readonly label?: string;
  readonly group?: string | undefined;
  readonly attribute?: string | undefined;
  readonly domain?: string | undefined;
  readonly split?: string | undefined;
  readonly task?: string | undefined;
  readonly caption?: string | undefined;
  readonly keep?: string | undefined;
  readonly classes?: readonly string[] | undefined;
  readonly known?: readonly string[] | undefined;
  readonly labelsHidden?: boolean;
}

export function csvSource(options: CsvOptions): DataSource {
  const { file } = options;
  if (!existsSync(file)) throw new DataError(file, "no such file");
  const rows = parseCsv(readFileSync(file, "utf8"));
  const root = options.root ?? dirname(file);
  const pathColumn = options.pathColumn ?? "path";
  const labelColumn = options.label ?? "label";
  const splitColumn = options.split ?? (options.keep !== undefined ? "split" : undefined);
  const header = rows.length > 0 ? Object.keys(rows[0]!) : [];
  for (const c of [
    pathColumn,
    labelColumn,
    options.group,
    options.attribute,
    options.domain,
    splitColumn,
    options.task,
    options.caption,
  ]) {
    if (c !== undefined && rows.length > 0 && !header.includes(c)) {
      throw new DataError(file, `no column '${c}' (columns: ${header.join(", ")})`);
    }
  }
  const kept =
    splitColumn !== undefined && options.keep !== undefined
      ? rows.filter((r) => r[splitColumn] === options.keep)
      : rows;

  let classes = options.classes;
  if (!classes) {
    const cells = [...new Set(rows.map((r) => r[labelColumn]!))];
    classes = cells.every((c) => /^\d+$/.test(c))
      ? Array.from({ length: Math.max(-1, ...cells.map(Number)) + 1 }, (_, i) => String(i))
      : cells.sort();
  }
  const names = new Map(classes.map((c, i) => [c, i] as const));
  const space = labelSpace(classes, options, (m) => new DataError(file, m));
  const int = (r: Record<string, string>, column: string, line: number): number => {
    const v = r[column]!;
    if (!/^-?\d+$/.test(v))
      throw new DataError(`${file}:${line}`, `column '${column}' holds '${v}', not an integer`);
    return Number(v);
  };
  // Counted over the whole file, so that a split holding only some attribute values codes groups alike.
  const attributes =
    options.attribute === undefined
      ? 0
      : Math.max(0, ...rows.map((r) => Number(r[options.attribute!]) + 1).filter(Number.isFinite));
  const items: DataItem[] = [];
  for (const r of kept) {
    const line = rows.indexOf(r) + 2;
    const cell = r[labelColumn]!;
    const i = /^-?\d+$/.test(cell) ? Number(cell) : names.get(cell);
    if (i === undefined || i < 0 || i >= classes.length) {
      throw new DataError(`${file}:${line}`, `label '${cell}' is not one of the ${classes.length} classes`);
    }
    if (!space.keeps(i)) continue;
    const label = space.relabel(i);
    let group: number | undefined;
    if (options.group !== undefined) group = int(r, options.group, line);
    else if (options.attribute !== undefined) group = label * attributes + int(r, options.attribute, line);
    const task =
      options.task !== undefined && r[options.task] !== "" ? int(r, options.task, line) : undefined;
    const domain = options.domain !== undefined ? r[options.domain] : undefined;
    const caption = options.caption !== undefined ? r[options.caption] : undefined;
    items.push({
      path: join(root, r[pathColumn]!),
      label,
      index: items.length,
      ...(group !== undefined ? { group } : {}),
      ...(domain !== undefined ? { domain } : {}),
      ...(task !== undefined ? { task } : {}),
      ...(caption ? { caption } : {}),
    });
  }
  return {
    description: `csv(${JSON.stringify(file)}${options.keep !== undefined ? `, keep: ${JSON.stringify(options.keep)}` : ""})`,
    items,
    classes: space.classes,
    known: space.known,
    labelsHidden: options.labelsHidden ?? false,
  };
}
