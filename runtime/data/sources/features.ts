// `features(file)`: a data set's cached image features, as `vlmp embed FILE --data ENTRY` writes them — a
// safetensors file holding `features` [S, D] (the image tower's projected, unnormalised output), `labels`
// [S] (class indices in the source's label space: known classes first) and, when the source had them,
// `groups` [S]; its metadata names the class list (`classes`, a JSON list) and how many of them are known
// (`known`, default all). Items keep the file's row order; each carries its row of `features`.

import { existsSync } from "node:fs";
import { Safetensors, SafetensorsError } from "../../checkpoint/safetensors.ts";
import { DataError, type DataItem, type DataSource } from "./types.ts";

/** The tensor and metadata names of a features file (the writer in runtime/embed uses them too). */
export const FEATURES_FILE = {
  features: "features",
  labels: "labels",
  groups: "groups",
  classes: "classes",
  known: "known",
} as const;

export function featuresSource(file: string, options: { labelsHidden?: boolean } = {}): DataSource {
  if (!existsSync(file)) {
    throw new DataError(
      file,
      "no such file (cache a data set's features with 'vlmp embed SPEC --data ENTRY --out FILE')",
    );
  }
  let st: Safetensors;
  try {
    st = Safetensors.open(file);
  } catch (error) {
    if (error instanceof SafetensorsError) throw new DataError(file, error.detail);
    throw error;
  }
  const tensor = (name: string, rank: number, rows?: number) => {
    const info = st.tensors.get(name);
    if (!info) return undefined;
    const [S] = info.shape;
    if (info.shape.length !== rank || (rows !== undefined && S !== rows)) {
      const want = rank === 2 ? "[S, D]" : `[${rows ?? "S"}]`;
      throw new DataError(file, `tensor '${name}' is [${info.shape.join(", ")}]; expected ${want}`);
    }
    return st.read(name);
  };
  const features = tensor(FEATURES_FILE.features, 2);
  if (!features) throw new DataError(file, `no tensor '${FEATURES_FILE.features}' [S, D]`);
  const [S, D] = st.info(FEATURES_FILE.features).shape as [number, number];
  if (D === 0) throw new DataError(file, `tensor '${FEATURES_FILE.features}' is [${S}, 0]: no feature width`);
  const labels = tensor(FEATURES_FILE.labels, 1, S);
  if (!labels) throw new DataError(file, `no tensor '${FEATURES_FILE.labels}' [${S}]`);
  const groups = tensor(FEATURES_FILE.groups, 1, S);

  const classes = metadataClasses(file, st.metadata[FEATURES_FILE.classes]);
  const known = metadataKnown(file, st.metadata[FEATURES_FILE.known], classes.length);
  const integer = (name: string, values: Float32Array, below: number) => {
    const bad = values.findIndex((v) => !Number.isInteger(v) || v < 0 || v >= below);
    if (bad >= 0) {
      throw new DataError(
        file,
        `tensor '${name}' row ${bad} is ${values[bad]}; expected an integer in 0..${below - 1}`,
      );
    }
  };
  integer(FEATURES_FILE.labels, labels, classes.length);
  if (groups) integer(FEATURES_FILE.groups, groups, Number.MAX_SAFE_INTEGER);

  const items: DataItem[] = Array.from({ length: S }, (_, i) => ({
    path: `${file}#${i}`,
    label: labels[i]!,
    index: i,
    ...(groups ? { group: groups[i]! } : {}),
    features: features.subarray(i * D, (i + 1) * D),
  }));
  return {
    description: `features(${JSON.stringify(file)})`,
    items,
    classes,
    known,
    labelsHidden: options.labelsHidden ?? false,
    cached: { file, dim: D },
  };
}

function metadataClasses(file: string, raw: string | undefined): string[] {
  const hint = `the metadata's '${FEATURES_FILE.classes}' must be a JSON list of class names (vlmp embed writes it)`;
  if (raw === undefined) throw new DataError(file, `no class list: ${hint}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new DataError(file, `cannot parse the class list: ${hint}`);
  }
  if (!Array.isArray(parsed) || parsed.length === 0 || !parsed.every((c) => typeof c === "string")) {
    throw new DataError(file, `bad class list: ${hint}`);
  }
  return parsed;
}

function metadataKnown(file: string, raw: string | undefined, classes: number): number {
  if (raw === undefined) return classes;
  const known = Number(raw);
  if (!Number.isInteger(known) || known < 1 || known > classes) {
    throw new DataError(
      file,
      `the metadata's '${FEATURES_FILE.known}' is '${raw}'; expected the count of known classes, 1..${classes}`,
    );
  }
  return known;
}
