// `vlmp embed SPEC --data ENTRY`: a data entry of a pipeline (`test`, `train`, …) embedded once with the
// pipeline's backbone — its image tower alone, no adapters, weights held as f32 — and the evaluation
// preprocessing (CLIP's, as `vlmp run` reads images), so that `features(file)`
// (runtime/data/sources/features.ts) can stand in for the images later.

import { resolve } from "node:path";
import type { PipelineIr } from "../../compiler/ir.ts";
import type { JsonValue } from "../../compiler/values.ts";
import type { TensorToWrite } from "../checkpoint/safetensors.ts";
import { FEATURES_FILE } from "../data/sources/features.ts";
import { DataResolver } from "../data/sources/resolve.ts";
import type { DataSource } from "../data/sources/types.ts";
import { RunError } from "../engine/errors.ts";
import { loadBackbone } from "../engine/model.ts";
import { BadImages, badImagePolicy, type SkippedImage } from "../image/bad-images.ts";
import { silentReporter } from "../progress/reporter.ts";
import { type EmbedOptions, embedImages } from "./embed.ts";

export interface DataEntryFeatures {
  readonly source: DataSource;
  /** [S, D] row-major: the projected, unnormalised image features, in source order. */
  readonly features: Float32Array;
  readonly dim: number;
  /** The backbone's weights folder, absolute (as `vlmp embed --model` records it). */
  readonly model: string;
  /** The images left out (`bad_images = skip`); undefined under `fail`. */
  readonly skipped?: readonly SkippedImage[];
}

/** The data block's entry `entry` as a source, and its image features from the pipeline's backbone. */
export async function embedDataEntry(
  ir: PipelineIr,
  entry: string,
  options: EmbedOptions,
): Promise<DataEntryFeatures> {
  const data = ir.root.blocks.find((b) => b.block === "data");
  if (!data) throw new RunError(`pipeline '${ir.pipeline}' has no data block`);
  const setting = data.settings[entry];
  const sourceEntries = Object.entries(data.settings)
    .filter(([k, v]) => isSourceCall(k, v))
    .map(([k]) => k);
  if (setting === undefined || setting === null || !sourceEntries.includes(entry)) {
    throw new RunError(
      `the data block of '${ir.pipeline}' has no source '${entry}' (sources: ${sourceEntries.join(", ") || "none"})`,
    );
  }
  const badImages = new BadImages(badImagePolicy(data.settings), options.reporter ?? silentReporter);
  const source = await badImages.usable(new DataResolver(data.settings).source(setting));
  if (source.cached) throw new RunError(`data.${entry} is already cached features (${source.cached.file})`);
  if (source.items.length === 0) throw new RunError(`data.${entry}: ${source.description} holds no images`);
  const backbone = loadBackbone(ir);
  const { config } = backbone.checkpoint;
  const tower = {
    ir,
    call: backbone.call,
    checkpoint: backbone.checkpoint,
    imageSize: config.vision.imageSize,
    embedDim: config.projectionDim,
  };
  const features = await embedImages(
    tower,
    source.items.map((it) => it.path),
    { task: `embed ${entry}`, ...options },
  );
  return {
    source,
    features,
    dim: config.projectionDim,
    model: resolve(backbone.checkpoint.dir),
    ...(badImages.policy === "skip" ? { skipped: badImages.skipped } : {}),
  };
}

/** The tensors of a features file: `features`, `labels` and, when every item has one, `groups`. */
export function featuresFileTensors(embedded: DataEntryFeatures): TensorToWrite[] {
  const { items } = embedded.source;
  const S = items.length;
  const tensors: TensorToWrite[] = [
    { name: FEATURES_FILE.features, shape: [S, embedded.dim], data: embedded.features },
    { name: FEATURES_FILE.labels, shape: [S], data: Float32Array.from(items, (it) => it.label) },
  ];
  if (items.every((it) => it.group !== undefined)) {
    tensors.push({
      name: FEATURES_FILE.groups,
      shape: [S],
      data: Float32Array.from(items, (it) => it.group!),
    });
  }
  return tensors;
}

/** The metadata `features(file)` reads (class list, known count) and what says where the rows came from. */
export function featuresFileMetadata(
  embedded: DataEntryFeatures,
  identity: { pipeline: string; irHash: string; entry: string; backend: string },
): Record<string, string> {
  const { source } = embedded;
  return {
    [FEATURES_FILE.classes]: JSON.stringify(source.classes),
    [FEATURES_FILE.known]: String(source.known),
    model: embedded.model,
    pipeline: identity.pipeline,
    ir_hash: identity.irHash,
    data: identity.entry,
    source: source.description,
    backend: identity.backend,
    paths: JSON.stringify(source.items.map((it) => it.path)),
    ...(embedded.skipped
      ? {
          skipped: JSON.stringify(
            embedded.skipped.map(({ path, reason, detail }) => ({ path, reason, detail })),
          ),
        }
      : {}),
  };
}

/** The data block's settings typed `classes` (stdlib/pipeline.vlmp); its other extern calls are sources. */
const CLASS_LIST_ENTRIES = new Set(["classes", "all", "novel"]);

const isSourceCall = (entry: string, v: JsonValue | undefined): boolean =>
  !CLASS_LIST_ENTRIES.has(entry) &&
  typeof v === "object" &&
  v !== null &&
  !Array.isArray(v) &&
  "$call" in v &&
  v["definition"] === "extern";
