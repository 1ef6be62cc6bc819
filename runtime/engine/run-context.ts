// What every kind of `vlmp run` shares (evaluation, training, task sequences): the run's options and
// result, the data block's prompt templates, the backend and evaluation context, the run directory, and the
// known-vs-unknown score histogram.

import { GraphBuilder } from "../../compiler/graph/builder.ts";
import type { PipelineIr } from "../../compiler/ir.ts";
import { Lowerer } from "../../compiler/lower/function.ts";
import { halfPrecision } from "../../compiler/lower/model.ts";
import { isJsonObject, type JsonValue } from "../../compiler/values.ts";
import { oodScores } from "../metrics/scores.ts";
import type { ProgressReporter } from "../progress/reporter.ts";
import { writeScoreHistogram } from "../run/plots.ts";
import { RunDirectory } from "../run/run-dir.ts";
import { type Backend, type BackendKind, openBackend } from "./backend.ts";
import { RunError } from "./errors.ts";
import type { BlockResult, EvaluateContext } from "./evaluate.ts";

export interface RunOptions {
  readonly backend?: BackendKind;
  /** The folder of run directories (default "runs"). */
  readonly runsRoot?: string;
  /** The spec as given (copied into the run directory). */
  readonly specText: string;
  readonly irHash: string;
  readonly reporter?: ProgressReporter;
  /** Aborting stops the run between batches; the run directory stays consistent. */
  readonly signal?: AbortSignal;
  /** An open backend to use (tests); it is not closed. */
  readonly backendInstance?: Backend;
  /** A run directory of a training pipeline to continue from its last checkpoint. */
  readonly resume?: string;
}

export interface RunResult {
  readonly dir: string;
  readonly backend: string;
  readonly blocks: readonly BlockResult[];
  readonly after: Record<string, number>;
  /** For a pipeline that trains: the metrics before training (`eval_at_start`). */
  readonly before?: Record<string, number>;
  /** For a task sequence: how many tasks (`after` then holds the sequence's metrics). */
  readonly tasks?: number;
  /** For a pipeline that trains: steps taken, and the seconds of the `timedSteps` among them (compilation
   * and each device trainer's first step left out). */
  readonly train?: {
    readonly steps: number;
    readonly epochs: number;
    readonly seconds: number;
    readonly timedSteps: number;
  };
}

/** `data.templates`: a list of strings, or a call of a template function (`photo()`, `imagenet80()`). */
export function resolveTemplates(ir: PipelineIr, value: JsonValue | undefined): string[] {
  if (Array.isArray(value) && value.every((v) => typeof v === "string")) return value as string[];
  if (isJsonObject(value) && "$call" in value && value["definition"] === "function") {
    const lowerer = new Lowerer(ir, new GraphBuilder());
    const result = lowerer.call(String(value["$call"]), [], new Map());
    if (result.kind === "list" && result.items.every((i) => i.kind === "string")) {
      return result.items.map((i) => (i as { value: string }).value);
    }
  }
  throw new RunError(
    `data.templates = ${JSON.stringify(value)} is not a list of prompt templates this runtime can read`,
  );
}

/** A new run directory under the options' runs folder for `ir`, run with `seed` on `backend`. */
export function createRunDirectory(
  ir: PipelineIr,
  options: RunOptions,
  seed: number,
  backend: Backend,
): RunDirectory {
  return RunDirectory.create({
    root: options.runsRoot ?? "runs",
    pipeline: ir.pipeline,
    specText: options.specText,
    ir,
    irHash: options.irHash,
    seed,
    device: backend.description,
  });
}

/** The run's backend (the options' open one, else opened as they ask) and its evaluation context. */
export async function openContext(
  ir: PipelineIr,
  options: RunOptions,
  model: Pick<EvaluateContext, "backbone" | "adapters" | "templates" | "reporter" | "weightCache">,
): Promise<EvaluateContext> {
  const backend = await openRunBackend(ir, options, (m) => model.reporter.log(m));
  return { ir, backend, ...model, ...(options.signal ? { signal: options.signal } : {}) };
}

/**
 * The options' open backend, else one opened as they ask; says so when the pipeline asks for
 * `precision = f16` and the backend cannot hold f16 (its weights then stay f32, unrounded).
 */
export async function openRunBackend(
  ir: PipelineIr,
  options: RunOptions,
  log: (message: string) => void,
): Promise<Backend> {
  const backend = options.backendInstance ?? (await openBackend(options.backend ?? "auto", log));
  if (halfPrecision(ir) && !backend.holdsHalf) {
    log(
      `warning: precision = f16, but ${backend.description} offers no shader-f16: the weights stay f32 ` +
        "(not rounded to f16), so results may differ slightly from a device that holds them at f16",
    );
  }
  return backend;
}

/** plots/scores-<label>.svg: MSP of known vs unknown samples, when the block has both. */
export function writeKnownUnknownHistogram(run: RunDirectory, result: BlockResult): void {
  const C = result.output.cols;
  const known = result.labels.filter((l) => l < C).length;
  if (known === 0 || known === result.labels.length) return;
  const scores = oodScores(result.output, { score: "msp" });
  const pos: number[] = [];
  const neg: number[] = [];
  result.labels.forEach((l, i) => {
    (l < C ? pos : neg).push(scores[i]!);
  });
  writeScoreHistogram(run, result.label, "msp", pos, neg);
}

/**
 * summary.json of a run that stopped on `error` (Ctrl-C, a crash): its reason and, when one was written, the
 * checkpoint and the command that resumes from it.
 */
export function writeInterruptedSummary(
  run: RunDirectory,
  error: unknown,
  fields: { backend: string; checkpoint: string | undefined; extra?: Record<string, unknown> },
): void {
  run.writeSummary({
    extra: {
      status: "interrupted",
      reason: (error as Error).message,
      backend: fields.backend,
      ...fields.extra,
      ...(fields.checkpoint
        ? { checkpoint: fields.checkpoint, resume: `vlmp run --resume ${run.path}` }
        : {}),
    },
  });
}
