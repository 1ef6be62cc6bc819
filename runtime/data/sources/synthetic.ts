// `synthetic(world, root, part, seed, shift, labels)`: a world written by `vlmp data make WORLD --out ROOT`
// (apex: ROOT/easy or ROOT/crowded). Reads ROOT/manifest.csv and keeps the rows of split `part`, in file
// order; group, domain and task come from the manifest. For ueo, `shift` selects the training classes of the
// category shift (METHODS §1.1: CDA, PDA, ODA, OPDA, CSDA) and the known classes (K = 8, or all 12 for
// CSDA); the test split keeps every class. `synthetic_classes(world, root, part)`: classes.txt, known.txt
// (ueo), base.txt / novel.txt (apex).

import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { parseCsv } from "../synthetic/manifest.ts";
import { UEO_SHIFTS, type UeoShift } from "../synthetic/world-ueo.ts";
import { readLines } from "./lines.ts";
import { DataError, type DataItem, type DataSource } from "./types.ts";

export interface SyntheticOptions {
  readonly world: string;
  readonly root: string;
  readonly part: string;
  readonly shift?: string;
  readonly labelsHidden?: boolean;
}

/** Checks that ROOT (or its parent, for apex's data sets) holds a world of the named kind. */
function checkWorld(world: string, root: string): void {
  if (!existsSync(root))
    throw new DataError(
      root,
      `no such folder (write the world with 'vlmp data make ${world} --out ${root}')`,
    );
  const meta = [join(root, "world.json"), join(dirname(root), "world.json")].find(existsSync);
  if (!meta)
    throw new DataError(join(root, "world.json"), `no such file: not a world written by 'vlmp data make'`);
  const written = (JSON.parse(readFileSync(meta, "utf8")) as { world?: string }).world;
  if (written !== world) throw new DataError(meta, `holds the world '${written}', the spec reads '${world}'`);
}

const inclusive = (i: number, ranges: readonly (readonly [number, number])[]) =>
  ranges.some(([a, b]) => i >= a && i <= b);

export function syntheticClasses(world: string, root: string, part: string): string[] {
  checkWorld(world, root);
  if (part === "all") return readLines(join(root, "classes.txt"));
  if (part === "known") {
    if (world !== "ueo") return readLines(join(root, "classes.txt"));
    return readLines(join(root, "known.txt"));
  }
  if (part === "base" || part === "novel") {
    const file = join(root, `${part}.txt`);
    if (!existsSync(file))
      throw new DataError(file, `no such file: the world '${world}' has no ${part} classes`);
    return readLines(file);
  }
  throw new DataError(root, `unknown class part '${part}'`);
}

export function syntheticSource(options: SyntheticOptions): DataSource {
  const { world, root, part } = options;
  checkWorld(world, root);
  const file = join(root, "manifest.csv");
  if (!existsSync(file)) throw new DataError(file, "no such file");
  const classes = readLines(join(root, "classes.txt"));
  const rows = parseCsv(readFileSync(file, "utf8")).filter((r) => r["split"] === part);
  if (rows.length === 0) {
    const splits = [...new Set(parseCsv(readFileSync(file, "utf8")).map((r) => r["split"]))];
    throw new DataError(file, `no rows of split '${part}' (splits: ${splits.join(", ")})`);
  }
  let known = classes.length;
  let keep = (_: number) => true;
  if (world === "ueo") {
    const shift = (options.shift ?? "oda") as UeoShift;
    const spec = UEO_SHIFTS[shift];
    if (!spec) throw new DataError(root, `unknown shift '${shift}'`);
    known = classes.filter((_, i) => inclusive(i, spec.known)).length;
    if (part === "train") keep = (label) => inclusive(label, spec.train);
  }
  const items: DataItem[] = [];
  for (const r of rows) {
    const label = Number(r["label"]);
    if (!keep(label)) continue;
    items.push({
      path: join(root, r["path"]!),
      label,
      index: items.length,
      ...(r["group"] ? { group: Number(r["group"]) } : {}),
      ...(r["domain"] ? { domain: r["domain"] } : {}),
      ...(r["task"] ? { task: Number(r["task"]) } : {}),
      ...(r["caption"] ? { caption: r["caption"] } : {}),
    });
  }
  return {
    description: `synthetic(${world}, ${JSON.stringify(root)}, part: ${JSON.stringify(part)})`,
    items,
    classes,
    known,
    labelsHidden: options.labelsHidden ?? false,
  };
}
