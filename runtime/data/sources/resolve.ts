// From the Pipeline IR's call values to class lists and sources: `{$call: "data.folder", args: {…}}` with
// references to the data block's settings (`{$ref: "all"}`, `{$ref: "data.classes"}`) and ranges
// (`{$range: [0, 50]}`, end exclusive). Each source is built once per call value.

import { isJsonObject, type JsonObject, type JsonValue } from "../../../compiler/values.ts";
import { coopClasses, coopSplitSource, readCoopSplit } from "./coop-split.ts";
import { csvSource } from "./csv.ts";
import { featuresSource } from "./features.ts";
import { folderSource } from "./folder.ts";
import { readLines } from "./lines.ts";
import { listFileSource } from "./list-file.ts";
import { pickClasses } from "./pick.ts";
import { syntheticClasses, syntheticSource } from "./synthetic.ts";
import { DataError, type DataSource, type Range } from "./types.ts";

/** A call of an extern this runtime does not implement yet (`subset`, …). */
export class UnsupportedDataError extends Error {
  override readonly name = "UnsupportedDataError";
}

export class DataResolver {
  private readonly sources = new Map<string, DataSource>();
  private readonly classLists = new Map<string, string[]>();

  /** `data`: the settings of the pipeline's data block. */
  constructor(private readonly data: Readonly<Record<string, JsonValue>>) {}

  /** A reference (`all`, `data.classes`) to the data block's setting, followed until it is a value. */
  deref(value: JsonValue | undefined): JsonValue | undefined {
    let v = value;
    for (let hops = 0; isJsonObject(v) && "$ref" in v; hops++) {
      const path = String(v["$ref"]);
      const name = path.startsWith("data.") ? path.slice(5) : path;
      if (hops > 16 || !(name in this.data))
        throw new UnsupportedDataError(`cannot resolve '${path}' to a data setting`);
      v = this.data[name];
    }
    return v;
  }

  /** The setting `name` of the data block as a class list (undefined when it is none). */
  classSetting(name: string): string[] | undefined {
    const v = this.data[name];
    return v === null || v === undefined ? undefined : this.classes(v);
  }

  classes(value: JsonValue): string[] {
    const v = this.deref(value);
    if (Array.isArray(v)) return v.map(String);
    const key = JSON.stringify(v);
    const cached = this.classLists.get(key);
    if (cached) return cached;
    const { name, args } = call(v, "a class list");
    let out: string[];
    switch (name) {
      case "lines":
        out = readLines(str(args, "file"));
        break;
      case "pick":
        out = pickClasses(this.classes(args["of"]!), ranges(args["ranges"]) ?? []);
        break;
      case "coop_classes":
        out = coopClasses(readCoopSplit(str(args, "file")), sym(args, "half", "all") as "all");
        break;
      case "synthetic_classes":
        out = syntheticClasses(sym(args, "world"), str(args, "root"), sym(args, "part", "all"));
        break;
      default:
        throw new UnsupportedDataError(`'${name}' is not a class list this runtime can read`);
    }
    this.classLists.set(key, out);
    return out;
  }

  /** The data block's setting `name` (`test`, `train`) as a source, or a source call value. */
  source(value: JsonValue): DataSource {
    const v = this.deref(value);
    const key = JSON.stringify(v);
    const cached = this.sources.get(key);
    if (cached) return cached;
    const { name, args } = call(v, "a data source");
    const opt = (k: string) =>
      args[k] === null || args[k] === undefined ? undefined : this.classes(args[k]!);
    const hidden = sym(args, "labels", "given") === "hidden";
    // What `folder` and `list_file` share after their paths.
    const labelled = () => ({
      classes: this.classes(args["classes"]!),
      include: ranges(args["include"]),
      known: opt("known"),
      labelsHidden: hidden,
    });
    let out: DataSource;
    switch (name) {
      case "folder":
        out = folderSource({ root: str(args, "root"), ...labelled() });
        break;
      case "list_file":
        out = listFileSource({ file: str(args, "file"), root: str(args, "root"), ...labelled() });
        break;
      case "csv":
        out = csvSource({
          file: str(args, "file"),
          root: optStr(args, "root"),
          pathColumn: optStr(args, "path_column") ?? "path",
          label: optStr(args, "label") ?? "label",
          group: optStr(args, "group"),
          attribute: optStr(args, "attribute"),
          domain: optStr(args, "domain"),
          split: optStr(args, "split"),
          task: optStr(args, "task"),
          caption: optStr(args, "caption"),
          keep: optStr(args, "keep"),
          classes: opt("classes"),
          known: opt("known"),
          labelsHidden: hidden,
        });
        break;
      case "coop_split":
        out = coopSplitSource({
          file: str(args, "file"),
          root: str(args, "root"),
          part: sym(args, "part") as "train",
          shots: num(args, "shots", 0),
          seed: num(args, "seed", 1),
          half: sym(args, "half", "all") as "all",
        });
        break;
      case "features":
        out = featuresSource(str(args, "file"), { labelsHidden: hidden });
        break;
      case "synthetic":
        out = syntheticSource({
          world: sym(args, "world"),
          root: str(args, "root"),
          part: str(args, "part"),
          shift: sym(args, "shift", "oda"),
          labelsHidden: hidden,
        });
        break;
      default:
        throw new UnsupportedDataError(`the source '${name}' is not implemented by this runtime yet`);
    }
    this.sources.set(key, out);
    return out;
  }
}

function call(v: JsonValue | undefined, what: string): { name: string; args: JsonObject } {
  if (!isJsonObject(v) || !("$call" in v))
    throw new UnsupportedDataError(`expected ${what}, got ${JSON.stringify(v)}`);
  const full = String(v["$call"]);
  return { name: full.slice(full.lastIndexOf(".") + 1), args: (v["args"] ?? {}) as JsonObject };
}

function str(args: JsonObject, k: string): string {
  const v = args[k];
  if (typeof v !== "string") throw new DataError(k, `expected a string, got ${JSON.stringify(v)}`);
  return v;
}

function optStr(args: JsonObject, k: string): string | undefined {
  const v = args[k];
  return typeof v === "string" ? v : undefined;
}

function num(args: JsonObject, k: string, fallback: number): number {
  const v = args[k];
  return typeof v === "number" ? v : fallback;
}

function sym(args: JsonObject, k: string, fallback?: string): string {
  const v = args[k];
  if (isJsonObject(v) && "$symbol" in v) return String(v["$symbol"]);
  if (typeof v === "string") return v;
  if (fallback !== undefined) return fallback;
  throw new DataError(k, `expected a symbol, got ${JSON.stringify(v)}`);
}

function ranges(v: JsonValue | undefined): Range[] | undefined {
  if (v === null || v === undefined) return undefined;
  if (!Array.isArray(v))
    throw new UnsupportedDataError(`expected a list of ranges, got ${JSON.stringify(v)}`);
  return v.map((r) => {
    if (isJsonObject(r) && "$range" in r) {
      const [a, b] = r["$range"] as [number, number];
      return [a, b] as const;
    }
    if (typeof r === "number") return [r, r + 1] as const;
    throw new UnsupportedDataError(`expected a range, got ${JSON.stringify(r)}`);
  });
}
