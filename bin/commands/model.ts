// `vlmp model make-tiny --out DIR [--seed N] [--init test|clip]`: a tiny random CLIP checkpoint in the HF layout
// (clip.tiny's sizes), for tests and as the start of pre-training; `vlmp model export RUN_DIR --out DIR`: a
// training run's backbone as such a checkpoint.

import { existsSync, readFileSync } from "node:fs";
import { makeTinyClip, TINY_DIMS } from "../../runtime/checkpoint/make-tiny.ts";
import { RunError } from "../../runtime/engine/errors.ts";
import { exportBackbone } from "../../runtime/engine/export.ts";
import { UsageError } from "../usage-error.ts";

export interface MakeTinyOptions {
  out: string;
  seed: string;
  init: string;
  patch: string;
  context: string;
}

function positiveInt(flag: string, text: string): number {
  if (!/^\d+$/.test(text) || Number(text) < 1 || !Number.isSafeInteger(Number(text))) {
    throw new UsageError(`${flag} must be a positive integer, got ${JSON.stringify(text)}`);
  }
  return Number(text);
}

export function runMakeTiny(options: MakeTinyOptions): number {
  if (!/^\d+$/.test(options.seed) || !Number.isSafeInteger(Number(options.seed))) {
    throw new UsageError(`--seed must be a non-negative integer, got ${JSON.stringify(options.seed)}`);
  }
  if (options.init !== "test" && options.init !== "clip") {
    throw new UsageError(`--init must be test or clip, got ${JSON.stringify(options.init)}`);
  }
  const patch = positiveInt("--patch", options.patch);
  if (TINY_DIMS.imageSize % patch !== 0) {
    throw new UsageError(`--patch must divide the image size ${TINY_DIMS.imageSize}, got ${patch}`);
  }
  const context = positiveInt("--context", options.context);
  // The shortest prompt is start token, one word, end token.
  if (context < 3) throw new UsageError(`--context must be at least 3 tokens, got ${context}`);
  const dims = { ...TINY_DIMS, patchSize: patch, maxPositions: context };
  const files = makeTinyClip(options.out, Number(options.seed), dims, options.init);
  process.stderr.write(
    `wrote a tiny CLIP checkpoint (seed ${options.seed}): ${files.length} files in ${options.out}\n`,
  );
  return 0;
}

export interface ExportCommandOptions {
  out: string;
  dtype: string;
  epoch?: string;
  evaluation?: string[];
  reproduce?: string;
  notes?: string;
}

function readNotes(file: string): string {
  if (!existsSync(file)) throw new UsageError(`--notes: no such file ${JSON.stringify(file)}`);
  return readFileSync(file, "utf8");
}

/** `vlmp model export RUN_DIR --out DIR [--dtype f32|f16] [--epoch N] [--evaluation RUN_DIR ...]`. */
export function runExport(runDir: string, options: ExportCommandOptions): number {
  if (options.dtype !== "f32" && options.dtype !== "f16") {
    throw new UsageError(`--dtype must be f32 or f16, got ${JSON.stringify(options.dtype)}`);
  }
  if (options.epoch !== undefined && !/^\d+$/.test(options.epoch)) {
    throw new UsageError(`--epoch must be a non-negative integer, got ${JSON.stringify(options.epoch)}`);
  }
  let result: ReturnType<typeof exportBackbone>;
  try {
    result = exportBackbone({
      run: runDir,
      out: options.out,
      dtype: options.dtype,
      ...(options.epoch !== undefined ? { epoch: Number(options.epoch) } : {}),
      ...(options.evaluation ? { evaluations: options.evaluation } : {}),
      ...(options.reproduce ? { reproduce: options.reproduce } : {}),
      ...(options.notes ? { notes: readNotes(options.notes) } : {}),
    });
  } catch (error) {
    if (error instanceof RunError) {
      process.stderr.write(`vlmp: error: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
  if (result.skipped.length > 0) {
    process.stderr.write(
      `not exported (adapter parameters, not the backbone's): ${result.skipped.join(", ")}\n`,
    );
  }
  process.stderr.write(
    `exported ${runDir} (${result.trained} trained tensors, ${options.dtype}): ${result.files.length} files in ${options.out}\n`,
  );
  return 0;
}
