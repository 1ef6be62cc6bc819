// Finding and reading run directories for `vlmp report`. Each argument is a run directory (it holds a
// summary.json), a summary.json itself, or a folder searched recursively for summary.json files. Every
// summary is validated; a missing, unreadable or malformed one (or a run that did not finish) is recorded
// in `skipped` with its path and the reason, never thrown.
//
// A run's method and data set come from its ir.json (beside summary.json):
//   method    the pipeline name. Runs that differ only by seed form one method: the *method fingerprint*
//             hashes the IR without the root `seed` and without the data block's sources (those are the
//             data-set axis); when one pipeline name shows several fingerprints (e.g. overrides other
//             than the seed), each becomes its own method, `name@<fingerprint>`.
//   data set  per metric: the source of the evaluate block the metric came from (`test.accuracy` →
//             `data.test`), summarised to a short name: a synthetic world's name (`ueo`), otherwise the
//             folder of the file / root path, skipping generic folder names (`data/dtd/images` → `dtd`).
// Without a readable ir.json the run still counts: method = pipeline name, data set "unknown" (noted).

import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { basename, dirname, extname, join, resolve } from "node:path";
import type { MetricMap } from "../run/run-dir.ts";

export type Stage = "before" | "after";

/** One metric of one run: its summary key, the evaluate split it belongs to, and its values. */
export interface RunMetric {
  /** The key in summary.json, e.g. `accuracy` or `novel_test.accuracy`. */
  readonly key: string;
  /** The evaluate block's label (`test`), or null when the key belongs to none that is known. */
  readonly split: string | null;
  /** The key without its split prefix. */
  readonly metric: string;
  readonly dataset: string;
  /** undefined: the stage does not carry the key; NaN: stored as null (undefined metric). */
  readonly before?: number;
  readonly after?: number;
}

export interface RunRecord {
  /** The run directory. */
  readonly path: string;
  readonly pipeline: string;
  readonly irHash: string;
  readonly seed: number;
  /** Hash of the IR without seed and data sources; "" without an ir.json. */
  readonly fingerprint: string;
  readonly metrics: readonly RunMetric[];
  /** The raw metric maps (for base/novel detection). */
  readonly before?: MetricMap;
  readonly after?: MetricMap;
}

export interface Skipped {
  readonly path: string;
  readonly reason: string;
}

export interface Collected {
  readonly runs: RunRecord[];
  readonly skipped: Skipped[];
  /** Things worth saying that do not skip a run (e.g. an unreadable ir.json). */
  readonly notes: string[];
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Obj = { [key: string]: Json };
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

/** The summary.json files named by the arguments (sorted, deduplicated); missing paths are skipped. */
export function findSummaries(paths: readonly string[]): { files: string[]; skipped: Skipped[] } {
  const files = new Set<string>();
  const skipped: Skipped[] = [];
  for (const p of paths) {
    let stat: ReturnType<typeof statSync>;
    try {
      stat = statSync(p);
    } catch {
      skipped.push({ path: p, reason: "no such file or directory" });
      continue;
    }
    if (stat.isFile()) {
      files.add(resolve(p));
      continue;
    }
    const before = files.size;
    walk(p, files);
    if (files.size === before) skipped.push({ path: p, reason: "no summary.json in or under it" });
  }
  return { files: [...files].sort(), skipped };
}

function walk(dir: string, out: Set<string>): void {
  let entries: import("node:fs").Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) {
    if (e.isFile() && e.name === "summary.json") out.add(resolve(dir, e.name));
  }
  for (const e of entries) {
    if (e.isDirectory() && !e.name.startsWith(".") && e.name !== "node_modules" && e.name !== "plots") {
      walk(join(dir, e.name), out);
    }
  }
}

/** Checks a parsed summary.json; returns the reason it is unusable, or null. */
export function validateSummary(value: unknown): string | null {
  if (!isObj(value)) return "summary.json is not a JSON object";
  const id = value["identity"];
  if (!isObj(id)) return "no identity object";
  if (typeof id["pipeline"] !== "string" || id["pipeline"] === "") return "identity.pipeline is not a string";
  if (typeof id["irHash"] !== "string") return "identity.irHash is not a string";
  if (typeof id["seed"] !== "number" || !Number.isInteger(id["seed"]))
    return "identity.seed is not an integer";
  for (const stage of ["before", "after"] as const) {
    const map = value[stage];
    if (map === undefined) continue;
    if (!isObj(map)) return `${stage} is not an object of metrics`;
    for (const [k, v] of Object.entries(map)) {
      if (v !== null && typeof v !== "number") return `${stage}.${k} is neither a number nor null`;
    }
  }
  if (value["before"] === undefined && value["after"] === undefined) return "no before or after metrics";
  const extra = value["extra"];
  if (isObj(extra) && typeof extra["status"] === "string" && extra["status"] !== "finished") {
    return `the run did not finish: status "${extra["status"]}"`;
  }
  return null;
}

export function collectRuns(paths: readonly string[]): Collected {
  const { files, skipped } = findSummaries(paths);
  const notes: string[] = [];
  const runs: RunRecord[] = [];
  for (const file of files) {
    const dir = dirname(file);
    let summary: unknown;
    try {
      summary = JSON.parse(readFileSync(file, "utf8"));
    } catch (error) {
      const why = error instanceof SyntaxError ? `not valid JSON (${error.message})` : "unreadable";
      skipped.push({ path: file, reason: why });
      continue;
    }
    const problem = validateSummary(summary);
    if (problem) {
      skipped.push({ path: file, reason: problem });
      continue;
    }
    const s = summary as Obj;
    const identity = s["identity"] as Obj;
    const ir = readIr(dir, notes);
    const before = s["before"] as MetricMap | undefined;
    const after = s["after"] as MetricMap | undefined;
    runs.push({
      path: dir,
      pipeline: identity["pipeline"] as string,
      irHash: identity["irHash"] as string,
      seed: identity["seed"] as number,
      fingerprint: ir ? methodFingerprint(ir) : "",
      metrics: runMetrics(ir, before, after),
      ...(before ? { before } : {}),
      ...(after ? { after } : {}),
    });
  }
  return { runs, skipped, notes };
}

function readIr(dir: string, notes: string[]): Obj | null {
  const file = join(dir, "ir.json");
  if (!existsSync(file)) {
    notes.push(`${dir}: no ir.json; data set unknown, method = pipeline name`);
    return null;
  }
  try {
    const ir = JSON.parse(readFileSync(file, "utf8"));
    if (isObj(ir) && isObj(ir["root"])) return ir;
  } catch {}
  notes.push(`${file}: not a Pipeline IR; data set unknown, method = pipeline name`);
  return null;
}

function blocksOf(block: Obj): Obj[] {
  const blocks = block["blocks"];
  return Array.isArray(blocks) ? blocks.filter(isObj) : [];
}

function allBlocks(block: Obj): Obj[] {
  return blocksOf(block).flatMap((b) => [b, ...allBlocks(b)]);
}

function settingsOf(block: Obj | undefined): Obj {
  return block && isObj(block["settings"]) ? block["settings"] : {};
}

function isDataCall(v: Json | undefined): boolean {
  return isObj(v) && typeof v["$call"] === "string" && v["$call"].startsWith("data.");
}

/** A short hash of the IR without the root seed and the data block's sources (and class lists). */
export function methodFingerprint(ir: Obj): string {
  const copy = structuredClone(ir);
  const root = copy["root"] as Obj;
  delete settingsOf(root)["seed"];
  for (const b of allBlocks(root)) {
    if (b["block"] !== "data") continue;
    const settings = settingsOf(b);
    for (const [k, v] of Object.entries(settings)) if (v === null || isDataCall(v)) delete settings[k];
  }
  return createHash("sha256").update(canonical(copy)).digest("hex").slice(0, 8);
}

function canonical(v: Json): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  if (isObj(v)) {
    const keys = Object.keys(v).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical(v[k]!)}`).join(",")}}`;
  }
  return JSON.stringify(v);
}

const GENERIC_FOLDERS = new Set([
  "images",
  "image",
  "imgs",
  "img",
  "jpg",
  "data",
  "train",
  "val",
  "test",
  "splits",
  "split",
  "lists",
  "list",
  "features",
  ".",
  "",
]);

/** A short name of a data source's IR value (`data.synthetic(world: ueo, …)` → `ueo`). */
export function datasetName(source: Json | undefined): string | null {
  if (!isObj(source)) return null;
  const args = isObj(source["args"]) ? source["args"] : {};
  const world = args["world"];
  if (isObj(world) && typeof world["$symbol"] === "string") return world["$symbol"];
  for (const nested of ["of", "test", "train"]) {
    if (isObj(args[nested])) {
      const name = datasetName(args[nested]);
      if (name) return name;
    }
  }
  for (const key of ["file", "root", "path"]) {
    const p = args[key];
    if (typeof p === "string" && p !== "") return folderName(p, key === "file");
  }
  return null;
}

function folderName(path: string, isFile: boolean): string {
  let p = path.replace(/[\\/]+$/, "");
  if (isFile || extname(p) !== "") p = dirname(p);
  while (GENERIC_FOLDERS.has(basename(p).toLowerCase()) && dirname(p) !== p) p = dirname(p);
  const name = basename(p);
  return name === "" || name === "." ? basename(path) : name;
}

/** Splits each summary key into (split, metric) and names its data set. */
function runMetrics(ir: Obj | null, before?: MetricMap, after?: MetricMap): RunMetric[] {
  const root = ir ? (ir["root"] as Obj) : null;
  const blocks = root ? allBlocks(root) : [];
  const evaluates = blocks.filter((b) => b["block"] === "evaluate");
  const labels = new Set(evaluates.map((b) => (typeof b["label"] === "string" ? b["label"] : "test")));
  const reported = evaluates.filter((b) => settingsOf(b)["report"] !== false);
  const single = reported.length === 1 ? ((reported[0]!["label"] as string | undefined) ?? "test") : null;
  const data = settingsOf(blocks.find((b) => b["block"] === "data"));
  const fallbackSource = data["test"] ?? Object.values(data).find(isDataCall);

  const keys: string[] = [];
  for (const map of [after, before])
    for (const k of Object.keys(map ?? {})) if (!keys.includes(k)) keys.push(k);
  return keys.map((key) => {
    const dot = key.indexOf(".");
    const prefix = dot > 0 ? key.slice(0, dot) : null;
    let split: string | null;
    let metric = key;
    if (prefix !== null && (root ? labels.has(prefix) : true)) {
      split = prefix;
      metric = key.slice(dot + 1);
    } else {
      split = single;
    }
    const dataset = root
      ? (datasetName((split !== null ? data[split] : undefined) ?? fallbackSource) ?? "unknown")
      : "unknown";
    const value = (map: MetricMap | undefined): number | undefined =>
      map && key in map ? (map[key] ?? Number.NaN) : undefined;
    const b = value(before);
    const a = value(after);
    return {
      key,
      split,
      metric,
      dataset,
      ...(b !== undefined ? { before: b } : {}),
      ...(a !== undefined ? { after: a } : {}),
    };
  });
}
