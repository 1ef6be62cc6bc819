// `vlmp data show DIR`: a contact sheet (PNG) of a generated world: for each data set, one row per class
// with its name and the first few samples (test split first, then the others).

import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import sharp, { type OverlayOptions } from "sharp";
import { escapeXml } from "../../run/svg.ts";
import { type ManifestRow, readManifest } from "./manifest.ts";

export interface ShowOptions {
  /** Samples per class (default 8). */
  readonly perClass?: number;
  /** Tile side in pixels (default: 64). */
  readonly tile?: number;
  /** Output file (default DIR/contact-sheet.png). */
  readonly out?: string;
}

const LABEL_WIDTH = 190;
const TITLE_HEIGHT = 28;
const SPLIT_ORDER = ["test", "val", "train"];

export async function contactSheet(dir: string, options: ShowOptions = {}): Promise<string> {
  const perClass = options.perClass ?? 8;
  const tile = options.tile ?? 64;
  const out = options.out ?? join(dir, "contact-sheet.png");
  const worldFile = join(dir, "world.json");
  const parts: { dir: string }[] = existsSync(worldFile)
    ? (JSON.parse(readFileSync(worldFile, "utf8")) as { parts: { dir: string }[] }).parts
    : [{ dir: "" }];
  const title = existsSync(worldFile)
    ? `world ${(JSON.parse(readFileSync(worldFile, "utf8")) as { world: string }).world}`
    : dir;

  const sections: { title: string; rows: { name: string; files: string[] }[] }[] = [];
  for (const part of parts) {
    const manifest = join(dir, part.dir, "manifest.csv");
    if (!existsSync(manifest))
      throw new Error(`${manifest} does not exist (is ${dir} a world made by 'vlmp data make'?)`);
    const rows = readManifest(manifest);
    const classes = readLines(join(dir, part.dir, "classes.txt"));
    // Worlds with groups (CFR) get one row per (class, attribute) group, so rare groups show up too.
    const attributes = existsSync(join(dir, part.dir, "attributes.txt"))
      ? readLines(join(dir, part.dir, "attributes.txt"))
      : [];
    const grouped = rows.some((r) => r.group !== "");
    const keyOf = (r: ManifestRow) =>
      grouped ? `${r.class} · ${attributes[Number(r.attribute)] ?? r.attribute}` : r.class;
    const keys = grouped
      ? classes.flatMap((c) => (attributes.length > 0 ? attributes : ["0", "1"]).map((a) => `${c} · ${a}`))
      : classes;
    const byKey = new Map<string, ManifestRow[]>(keys.map((k) => [k, []]));
    for (const r of rows) byKey.get(keyOf(r))?.push(r);
    sections.push({
      title: part.dir === "" ? title : `${title} / ${part.dir}`,
      rows: keys.map((name) => ({
        name,
        files: spread(byKey.get(name)!, perClass).map((r) => join(dir, part.dir, r.path)),
      })),
    });
  }

  const width = LABEL_WIDTH + perClass * (tile + 4) + 4;
  const height = sections.reduce((h, s) => h + TITLE_HEIGHT + s.rows.length * (tile + 4), 4);
  const labels: string[] = [];
  const composites: OverlayOptions[] = [];
  let y = 4;
  for (const section of sections) {
    labels.push(
      `<text x="8" y="${y + 19}" font-size="16" font-weight="bold">${escapeXml(section.title)}</text>`,
    );
    y += TITLE_HEIGHT;
    for (const row of section.rows) {
      labels.push(
        `<text x="8" y="${y + tile / 2 + 5}" font-size="13">${escapeXml(row.name.replace(/_/g, " "))}</text>`,
      );
      for (const [k, file] of row.files.entries()) {
        const input = await sharp(file).resize(tile, tile, { kernel: "nearest" }).png().toBuffer();
        composites.push({ input, left: LABEL_WIDTH + k * (tile + 4), top: y });
      }
      y += tile + 4;
    }
  }
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif"><rect width="${width}" height="${height}" fill="white"/>${labels.join("")}</svg>`;
  await sharp(Buffer.from(svg)).composite(composites).png().toFile(out);
  return out;
}

/** `k` rows evenly spread over the first split (test, val, train) that has k of them, else over all. */
function spread(rows: readonly ManifestRow[], k: number): ManifestRow[] {
  const pool =
    SPLIT_ORDER.map((s) => rows.filter((r) => r.split === s)).find((list) => list.length >= k) ?? rows;
  if (pool.length <= k) return [...pool];
  return Array.from({ length: k }, (_, i) => pool[Math.floor((i * pool.length) / k)]!);
}

function readLines(file: string): string[] {
  return readFileSync(file, "utf8").split("\n").filter(Boolean);
}
