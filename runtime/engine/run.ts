// `vlmp run` for evaluation pipelines: load the backbone, resolve the data block, open a run directory,
// run every `evaluate` block in order and write its metrics (metrics.jsonl, one `eval` record per block)
// and the headline ones (`report = true`) into summary.json as `after`. A pipeline with a train block runs
// in train.ts (constants, steps, checkpoints, evaluation before and after), one with a tasks block in
// tasks.ts (a continual-learning task sequence).

import { GraphBuilder } from "../../compiler/graph/builder.ts";
import type { IrBlock, PipelineIr } from "../../compiler/ir.ts";
import { Lowerer } from "../../compiler/lower/function.ts";
import { objectiveBlocks } from "../../compiler/lower/objective.ts";
import type { JsonValue } from "../../compiler/values.ts";
import { DataResolver, UnsupportedDataError } from "../data/sources/resolve.ts";
import { DataError } from "../data/sources/types.ts";
import { ImageDecodeError } from "../image/errors.ts";
import { oodScores } from "../metrics/scores.ts";
import { MetricInputError } from "../metrics/types.ts";
import type { ProgressReporter } from "../progress/reporter.ts";
import { silentReporter } from "../progress/reporter.ts";
import type { Tensor } from "../reference/tensor.ts";
import { writeReliabilityPlot, writeScoreHistogram } from "../run/plots.ts";
import { RunDirectory } from "../run/run-dir.ts";
import { type Backend, type BackendKind, openBackend } from "./backend.ts";
import { RunError } from "./errors.ts";
import { type BlockResult, checkAborted, type EvaluateContext, evaluateBlock } from "./evaluate.ts";
import { loadBackbone } from "./model.ts";

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
  /** For a pipeline that trains: steps taken, and the seconds of the `timedSteps` among them (compilation
   * and each device trainer's first step left out). */
  /** For a task sequence: how many tasks (`after` then holds the sequence's metrics). */
  readonly tasks?: number;
  readonly train?: {
    readonly steps: number;
    readonly epochs: number;
    readonly seconds: number;
    readonly timedSteps: number;
  };
}

type Obj = { readonly [key: string]: JsonValue };
const isObj = (v: JsonValue | undefined): v is Obj =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** `data.templates`: a list of strings, or a call of a template function (`photo()`, `imagenet80()`). */
export function resolveTemplates(ir: PipelineIr, value: JsonValue | undefined): string[] {
  if (Array.isArray(value) && value.every((v) => typeof v === "string")) return value as string[];
  if (isObj(value) && "$call" in value && value["definition"] === "function") {
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

function dataBlock(ir: PipelineIr): IrBlock {
  const data = ir.root.blocks.find((b) => b.block === "data");
  if (!data) throw new RunError(`pipeline '${ir.pipeline}' has no data block`);
  return data;
}

/** Turns the typed errors of data, images and metrics into RunErrors (their messages name the path). */
function asRunError(error: unknown): unknown {
  if (
    error instanceof DataError ||
    error instanceof ImageDecodeError ||
    error instanceof UnsupportedDataError
  ) {
    return new RunError(error.message);
  }
  if (error instanceof MetricInputError) return new RunError(`metric: ${error.message}`);
  return error;
}

export async function runPipeline(ir: PipelineIr, options: RunOptions): Promise<RunResult> {
  try {
    if (ir.root.blocks.some((b) => b.block === "tasks")) {
      const { runTasks } = await import("./tasks.ts");
      return await runTasks(ir, options);
    }
    if (options.resume || objectiveBlocks(ir).length > 0) {
      const { runTraining } = await import("./train.ts");
      const r = await runTraining(ir, options);
      return {
        ...r,
        train: { steps: r.steps, epochs: r.epochs, seconds: r.trainSeconds, timedSteps: r.timedSteps },
      };
    }
    return await runEvaluation(ir, options);
  } catch (error) {
    throw asRunError(error);
  }
}

async function runEvaluation(ir: PipelineIr, options: RunOptions): Promise<RunResult> {
  const reporter = options.reporter ?? silentReporter;
  const training = objectiveBlocks(ir);
  if (
    training.length > 0 ||
    ir.root.blocks.some((b) => ["stage", "tasks", "fit", "constants"].includes(b.block))
  ) {
    throw new RunError(
      `pipeline '${ir.pipeline}' trains (${training.map((t) => t.path).join(", ") || "stages"}); vlmp run runs evaluation-only pipelines so far`,
    );
  }
  const evaluates = ir.root.blocks.filter((b) => b.block === "evaluate");
  if (evaluates.length === 0) throw new RunError(`pipeline '${ir.pipeline}' has no evaluate block`);

  // Everything that can fail on the spec's inputs is checked before the run directory exists.
  const data = dataBlock(ir);
  const resolver = new DataResolver(data.settings);
  const templates = resolveTemplates(ir, data.settings["templates"]);
  const plans = evaluates.map((block) => {
    const label = block.label ?? "test";
    const setting = data.settings[label];
    if (setting === undefined || setting === null) {
      throw new RunError(`evaluate ${label}: the data block has no source '${label}'`);
    }
    return {
      block,
      source: resolver.source(setting),
      classes: resolver.classes(block.settings["classes"] ?? { $ref: "data.classes" }),
    };
  });
  for (const p of plans) {
    if (p.source.known > p.classes.length) {
      reporter.log(
        `note: evaluate ${p.block.label}: the source has ${p.source.known} known classes, the block predicts over ${p.classes.length}`,
      );
    }
  }
  const backbone = loadBackbone(ir);

  const backend =
    options.backendInstance ?? (await openBackend(options.backend ?? "auto", (m) => reporter.log(m)));
  try {
    const run = createRunDirectory(ir, options, Number(ir.root.settings["seed"] ?? 0), backend);
    const weightCache = new Map<string, Tensor>();
    const results: BlockResult[] = [];
    const reported = plans.filter((p) => p.block.settings["report"] !== false);
    const after: Record<string, number> = {};
    const timing: Record<string, unknown> = {};
    try {
      for (const plan of plans) {
        checkAborted(options.signal);
        const result = await evaluateBlock(
          {
            ir,
            backbone,
            backend,
            adapters: ir.root.adapters,
            templates,
            reporter,
            weightCache,
            signal: options.signal,
          },
          plan.block,
          plan.source,
          plan.classes,
        );
        results.push(result);
        run.log({ kind: "eval", epoch: 0, split: result.label, values: result.metrics.values });
        for (const w of result.metrics.warnings)
          reporter.log(`warning: evaluate ${result.label}: ${w.message}`);
        for (const d of result.metrics.diagrams) writeReliabilityPlot(run, result.label, d.diagram);
        writeKnownUnknownHistogram(run, result);
        if (reported.includes(plan)) {
          for (const [k, v] of Object.entries(result.metrics.values)) {
            after[reported.length > 1 ? `${result.label}.${k}` : k] = v;
          }
        }
        timing[result.label] = {
          images: result.images,
          seconds: Number(result.seconds.toFixed(3)),
          images_per_second: Number((result.images / result.seconds).toFixed(2)),
        };
      }
      run.writeSummary({
        after,
        extra: { status: "finished", backend: backend.description, evaluate: timing },
      });
    } catch (error) {
      run.writeSummary({
        ...(Object.keys(after).length > 0 ? { after } : {}),
        extra: { status: "interrupted", reason: (error as Error).message, backend: backend.description },
      });
      throw error;
    }
    return { dir: run.path, backend: backend.description, blocks: results, after };
  } finally {
    if (!options.backendInstance) backend.close();
  }
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
  const backend =
    options.backendInstance ?? (await openBackend(options.backend ?? "auto", (m) => model.reporter.log(m)));
  return { ir, backend, ...model, ...(options.signal ? { signal: options.signal } : {}) };
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
