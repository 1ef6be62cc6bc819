// `vlmp embed SPEC --data ENTRY --out feats.safetensors [key.path=value ...]`: a pipeline's data entry
// embedded once with its backbone's image tower and the evaluation preprocessing (runtime/embed/data-entry.ts),
// on the backend and worker threads `vlmp embed --images` uses, written
// as the file `features(file)` reads: `features` [S, D] (f32), `labels` [S], `groups` [S] when the source
// has them, and metadata naming the class list, the model, the spec's IR hash and the entry.

import { writeSafetensors } from "../../runtime/checkpoint/index.ts";
import { UnsupportedDataError } from "../../runtime/data/sources/resolve.ts";
import { DataError } from "../../runtime/data/sources/types.ts";
import { NoAdapterError } from "../../runtime/device/device.ts";
import { embedDataEntry, featuresFileMetadata, featuresFileTensors } from "../../runtime/embed/data-entry.ts";
import { type Backend, type BackendKind, openBackend } from "../../runtime/engine/backend.ts";
import { RunError } from "../../runtime/engine/errors.ts";
import { ImageDecodeError } from "../../runtime/image/errors.ts";
import { createReporter, type ProgressMode } from "../../runtime/progress/index.ts";
import { UsageError } from "../usage-error.ts";
import { compileSpec, type SpecOptions } from "./compile-spec.ts";
import { integer } from "./embed.ts";

export interface EmbedDataOptions extends SpecOptions {
  data?: string;
  out: string;
  model?: string;
  images?: string[];
  texts?: string;
  arch?: string;
  workers?: string;
  backend?: BackendKind;
  batch?: string;
  progress?: ProgressMode;
}

export async function runEmbedData(
  spec: string | undefined,
  overrides: string[],
  options: EmbedDataOptions,
): Promise<number> {
  if (spec === undefined || options.data === undefined) {
    throw new UsageError("embedding a pipeline's data takes a spec FILE and --data ENTRY (test, train, …)");
  }
  const clash = (["model", "images", "texts", "arch"] as const).find((k) => options[k] !== undefined);
  if (clash) throw new UsageError(`--${clash} does not go with a spec: the spec names the backbone and data`);
  const batch = integer("batch", options.batch, 32, 1);
  const workers = options.workers === undefined ? undefined : integer("workers", options.workers, 0, 0);
  const compiled = compileSpec(spec, overrides, options, "run");
  if ("exitCode" in compiled) return compiled.exitCode;
  const { ir } = compiled;
  const reporter = createReporter(options.progress ?? "auto");
  let backend: Backend | undefined;
  try {
    backend = await openBackend(options.backend ?? "auto", (m) => reporter.log(m));
    const embedded = await embedDataEntry(ir, options.data, {
      backend,
      batch,
      reporter,
      ...(workers !== undefined ? { workers } : {}),
    });
    writeSafetensors(
      options.out,
      featuresFileTensors(embedded),
      featuresFileMetadata(embedded, {
        pipeline: ir.pipeline,
        irHash: compiled.result.hash!,
        entry: options.data,
        backend: backend.description,
      }),
    );
    reporter.close();
    const S = embedded.source.items.length;
    process.stderr.write(
      `wrote features [${S}, ${embedded.dim}], labels [${S}]${embedded.source.items.every((it) => it.group !== undefined) ? `, groups [${S}]` : ""} of data.${options.data} (${embedded.source.description}; ${backend.description}) to ${options.out}${embedded.skipped ? `; ${embedded.skipped.length} image(s) skipped (bad_images = skip; the file's metadata lists them)` : ""}\n`,
    );
    return 0;
  } catch (error) {
    reporter.close();
    if (
      error instanceof RunError ||
      error instanceof DataError ||
      error instanceof UnsupportedDataError ||
      error instanceof ImageDecodeError ||
      error instanceof NoAdapterError
    ) {
      process.stderr.write(`vlmp: error: ${error.message}\n`);
      return 1;
    }
    throw error;
  } finally {
    backend?.close();
  }
}
