// `coop_split(file, root, part, shots, seed, half)`: a CoOp split JSON (`split_zhou_<Dataset>.json`:
// {train, val, test: [[relative path, label, class name], …]}). `shots` > 0 keeps that many items per class
// (all of a class with fewer), drawn by a seeded sampler: the same seed gives the same shots, in label order
// then file order. `half` keeps the base classes (the first ⌈n/2⌉ labels of the whole split) or the novel
// ones relabelled from 0 (METHODS §4.1). Deviation: CoOp draws shots with Python's `random.sample`; vlmp's
// sampler is its own (seeded mulberry32), so the shots differ from CoOp's for the same seed.

import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Rng } from "../synthetic/random.ts";
import { DataError, type DataItem, type DataSource } from "./types.ts";

export interface CoopSplitOptions {
  readonly file: string;
  readonly root: string;
  readonly part: "train" | "val" | "test";
  readonly shots?: number;
  readonly seed?: number;
  readonly half?: "all" | "base" | "novel";
}

type Entry = [string, number, string];

export function readCoopSplit(file: string): Record<string, Entry[]> {
  if (!existsSync(file)) throw new DataError(file, "no such file");
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, "utf8"));
  } catch (error) {
    throw new DataError(file, `not JSON (${(error as Error).message})`);
  }
  const out: Record<string, Entry[]> = {};
  for (const part of ["train", "val", "test"]) {
    const list = (json as Record<string, unknown>)[part];
    if (!Array.isArray(list)) throw new DataError(file, `no '${part}' list`);
    out[part] = list.map((e, i) => {
      if (
        !Array.isArray(e) ||
        typeof e[0] !== "string" ||
        !Number.isInteger(e[1]) ||
        typeof e[2] !== "string"
      ) {
        throw new DataError(file, `${part}[${i}] is not [path, label, class name]`);
      }
      return e as Entry;
    });
  }
  return out;
}

/** Class names by label over every part, and the labels of a half. */
export function coopClasses(
  split: Record<string, Entry[]>,
  half: "all" | "base" | "novel" = "all",
): string[] {
  const names = new Map<number, string>();
  for (const part of Object.values(split)) for (const [, label, name] of part) names.set(label, name);
  const labels = [...names.keys()].sort((a, b) => a - b);
  const m = Math.ceil(labels.length / 2);
  const chosen = half === "base" ? labels.slice(0, m) : half === "novel" ? labels.slice(m) : labels;
  return chosen.map((l) => names.get(l)!);
}

export function coopSplitSource(options: CoopSplitOptions): DataSource {
  const split = readCoopSplit(options.file);
  const half = options.half ?? "all";
  const allLabels = [...new Set(Object.values(split).flatMap((p) => p.map((e) => e[1])))].sort(
    (a, b) => a - b,
  );
  const m = Math.ceil(allLabels.length / 2);
  const chosen = half === "base" ? allLabels.slice(0, m) : half === "novel" ? allLabels.slice(m) : allLabels;
  const relabel = new Map(chosen.map((l, i) => [l, i] as const));
  let entries = split[options.part]!.filter((e) => relabel.has(e[1]));
  const shots = options.shots ?? 0;
  if (shots > 0) {
    const rng = Rng.from("coop_split", options.seed ?? 1);
    const picked: Entry[] = [];
    for (const l of chosen) {
      const own = entries.filter((e) => e[1] === l);
      if (own.length <= shots) {
        picked.push(...own);
        continue;
      }
      // A partial Fisher–Yates shuffle of positions, then the chosen positions in file order.
      const pos = own.map((_, i) => i);
      for (let i = 0; i < shots; i++) {
        const j = i + Math.floor(rng.next() * (pos.length - i));
        [pos[i], pos[j]] = [pos[j]!, pos[i]!];
      }
      picked.push(
        ...pos
          .slice(0, shots)
          .sort((a, b) => a - b)
          .map((i) => own[i]!),
      );
    }
    entries = picked;
  }
  const items: DataItem[] = entries.map(([path, label], index) => ({
    path: join(options.root, path),
    label: relabel.get(label)!,
    index,
  }));
  return {
    description: `coop_split(${JSON.stringify(options.file)}, part: ${options.part}${shots > 0 ? `, shots: ${shots}` : ""}${half !== "all" ? `, half: ${half}` : ""})`,
    items,
    classes: coopClasses(split, half),
    known: chosen.length,
    labelsHidden: false,
  };
}
