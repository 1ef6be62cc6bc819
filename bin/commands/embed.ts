// `vlmp embed --model DIR (--images PATH... | --texts FILE) --out feats.safetensors`: CLIP features of
// images or texts in batches, written as `image_features` / `text_features` [N, E] (float32) with the
// row order (`paths` / `texts`) and the model, configuration and backend in the file's metadata.

import { resolve } from "node:path";
import {
  CheckpointError,
  ConfigError,
  LayoutError,
  SafetensorsError,
} from "../../runtime/checkpoint/index.ts";
import { NoAdapterError } from "../../runtime/device/device.ts";
import {
  collectImagePaths,
  embedImages,
  embedTexts,
  loadEmbedModel,
  readTextLines,
  writeFeatures,
} from "../../runtime/embed/index.ts";
import { type Backend, type BackendKind, openBackend } from "../../runtime/engine/backend.ts";
import { ImageDecodeError } from "../../runtime/image/errors.ts";
import { createReporter, type ProgressMode } from "../../runtime/progress/index.ts";
import { VocabError } from "../../runtime/tokenizer/index.ts";
import { UsageError } from "../usage-error.ts";

export interface EmbedCommandOptions {
  model?: string;
  images?: string[];
  texts?: string;
  out: string;
  backend?: BackendKind;
  batch?: string;
  arch?: string;
  workers?: string;
  progress?: ProgressMode;
}

export function integer(name: string, value: string | undefined, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value) || Number(value) < min) {
    throw new UsageError(`--${name} must be an integer ≥ ${min}, got '${value}'`);
  }
  return Number(value);
}

export async function runEmbed(options: EmbedCommandOptions): Promise<number> {
  if (options.model === undefined) {
    throw new UsageError("give --model DIR (with --images or --texts), or a spec FILE with --data ENTRY");
  }
  const modelDir = options.model;
  const hasImages = options.images !== undefined && options.images.length > 0;
  if (hasImages === (options.texts !== undefined)) {
    throw new UsageError("give either --images PATH... or --texts FILE");
  }
  const batch = integer("batch", options.batch, 32, 1);
  const workers = options.workers === undefined ? undefined : integer("workers", options.workers, 0, 0);
  let items: string[];
  try {
    items = hasImages ? collectImagePaths(options.images!) : readTextLines(options.texts!);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const reporter = createReporter(options.progress ?? "auto");
  let backend: Backend | undefined;
  try {
    const model = loadEmbedModel(modelDir, options.arch);
    backend = await openBackend(options.backend ?? "auto", (m) => reporter.log(m));
    const embedOptions = { backend, batch, reporter, ...(workers !== undefined ? { workers } : {}) };
    const features = hasImages
      ? await embedImages(model, items, embedOptions)
      : await embedTexts(model, items, embedOptions);
    writeFeatures(options.out, {
      kind: hasImages ? "image" : "text",
      features,
      count: items.length,
      dim: model.embedDim,
      items,
      metadata: {
        model: resolve(modelDir),
        arch: model.arch.name,
        backend: backend.kind,
        image_size: String(model.imageSize),
        crop: "floor",
        pad_id: String(model.padId),
      },
    });
    reporter.close();
    process.stderr.write(
      `wrote ${hasImages ? "image" : "text"}_features [${items.length}, ${model.embedDim}] (clip.${model.arch.name}, ${backend.description}) to ${options.out}\n`,
    );
    return 0;
  } catch (error) {
    reporter.close();
    if (
      error instanceof ImageDecodeError ||
      error instanceof CheckpointError ||
      error instanceof ConfigError ||
      error instanceof SafetensorsError ||
      error instanceof LayoutError ||
      error instanceof VocabError ||
      error instanceof NoAdapterError
    ) {
      process.stderr.write(`vlmp: ${error.message}\n`);
      return 1;
    }
    if (error instanceof Error && /^unknown --arch/.test(error.message)) throw new UsageError(error.message);
    throw error;
  } finally {
    backend?.close();
  }
}
