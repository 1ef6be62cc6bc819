// `vlmp run` for evaluation pipelines: load the backbone, resolve the data block, open a run directory,
// run every `evaluate` block in order and write its metrics (metrics.jsonl, one `eval` record per block)
// and the headline ones (`report = true`) into summary.json as `after`. A pipeline with a train block runs
// in train.ts (constants, steps, checkpoints, evaluation before and after), one with a tasks block in
// tasks.ts (a continual-learning task sequence).

import type { IrBlock, PipelineIr } from "../../compiler/ir.ts";
import { objectiveBlocks } from "../../compiler/lower/objective.ts";
import { DataResolver, UnsupportedDataError } from "../data/sources/resolve.ts";
import { DataError } from "../data/sources/types.ts";
import { BadImages, badImagePolicy } from "../image/bad-images.ts";
import { ImageDecodeError } from "../image/errors.ts";
import { MetricInputError } from "../metrics/types.ts";
import { silentReporter } from "../progress/reporter.ts";
import type { Tensor } from "../reference/tensor.ts";
import { writeReliabilityPlot } from "../run/plots.ts";
import { RunError } from "./errors.ts";
import { type BlockResult, checkAborted, evaluateBlock } from "./evaluate.ts";
import { loadBackbone } from "./model.ts";
import {
  createRunDirectory,
  openRunBackend,
  type RunOptions,
  type RunResult,
  resolveTemplates,
  writeKnownUnknownHistogram,
} from "./run-context.ts";

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
  const badImages = new BadImages(badImagePolicy(data.settings), reporter);
  for (const p of plans) p.source = await badImages.usable(p.source);
  for (const p of plans) {
    if (p.source.known > p.classes.length) {
      reporter.log(
        `note: evaluate ${p.block.label}: the source has ${p.source.known} known classes, the block predicts over ${p.classes.length}`,
      );
    }
  }
  const backbone = loadBackbone(ir);

  const backend = await openRunBackend(ir, options, (m) => reporter.log(m));
  try {
    const run = createRunDirectory(ir, options, Number(ir.root.settings["seed"] ?? 0), backend);
    if (badImages.policy === "skip") run.writeFile("skipped-images.txt", badImages.listing());
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
        extra: {
          status: "finished",
          backend: backend.description,
          evaluate: timing,
          ...badImages.summaryFields(),
        },
      });
    } catch (error) {
      run.writeSummary({
        ...(Object.keys(after).length > 0 ? { after } : {}),
        extra: {
          status: "interrupted",
          reason: (error as Error).message,
          backend: backend.description,
          ...badImages.summaryFields(),
        },
      });
      throw error;
    }
    return { dir: run.path, backend: backend.description, blocks: results, after };
  } finally {
    if (!options.backendInstance) backend.close();
  }
}
