// Manifests of the synthetic worlds: CSV with a header (the `csv(...)` source reads it), one row per image.
//   path,label,class,split,domain,group,attribute,task,colour,size,background,caption
// `path` is relative to the folder holding the manifest; empty cells mean "not in this world".

import { readFileSync } from "node:fs";
import { backgroundWords } from "./palette.ts";
import type { PlannedImage } from "./plan.ts";
import { caption } from "./scene.ts";

export const MANIFEST_COLUMNS = [
  "path",
  "label",
  "class",
  "split",
  "domain",
  "group",
  "attribute",
  "task",
  "colour",
  "size",
  "background",
  "caption",
] as const;
export type ManifestRow = Record<(typeof MANIFEST_COLUMNS)[number], string>;

function cell(value: string): string {
  return /[",\n\r]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

export function manifestRow(im: PlannedImage): ManifestRow {
  return {
    path: im.path,
    label: String(im.label),
    class: im.className,
    split: im.split,
    domain: im.scene.style,
    group: im.group === undefined ? "" : String(im.group),
    attribute: im.attribute === undefined ? "" : String(im.attribute),
    task: im.task === undefined ? "" : String(im.task),
    colour: im.scene.colour,
    size: im.scene.size,
    background: backgroundWords(im.scene.background.kind),
    caption: im.caption ?? caption(im.scene),
  };
}

export function manifestCsv(images: readonly PlannedImage[]): string {
  const rows = images.map(manifestRow);
  return [MANIFEST_COLUMNS.join(","), ...rows.map((r) => MANIFEST_COLUMNS.map((c) => cell(r[c])).join(","))]
    .map((l) => `${l}\n`)
    .join("");
}

/** Parse CSV text with a header (RFC 4180 quoting) into records keyed by column name. */
export function parseCsv(text: string): Record<string, string>[] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ",") {
      row.push(field);
      field = "";
    } else if (ch === "\n" || ch === "\r") {
      if (ch === "\r" && text[i + 1] === "\n") i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = "";
    } else field += ch;
  }
  if (field !== "" || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  const [header, ...body] = rows;
  if (!header) return [];
  return body
    .filter((r) => r.length > 1 || r[0] !== "")
    .map((r) => Object.fromEntries(header.map((h, i) => [h, r[i] ?? ""])));
}

export function readManifest(file: string): ManifestRow[] {
  return parseCsv(readFileSync(file, "utf8")) as ManifestRow[];
}
