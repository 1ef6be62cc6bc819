// `vlmp run` for a pipeline with a `tasks` block (continual learning, METHODS §2.5–2.6): for each task t of
// `data.sequence = class_incremental(...)`, train on the task's training images (with the replayed
// exemplars of `tasks.memory`) when the block has a `train` block, then run the block's `evaluate` over
// every task's test images and all classes once and read the step's metrics off that output (task-metrics.ts):
// a metrics.jsonl record per task (the row a_{t,·} and the step's metrics), and the sequence's metrics (Avg,
// Last, BwT, forgetting, TaW, the mean novelty AUROC, …) in summary.json `after`. Without training the model
// never changes, so its output is computed once.

import type { IrBlock, PipelineIr } from "../../compiler/ir.ts";
import { type ObjectiveBlock, resolveSetting } from "../../compiler/lower/objective.ts";
import type { JsonValue } from "../../compiler/values.ts";
import { DataResolver } from "../data/sources/resolve.ts";
import type { DataSource } from "../data/sources/types.ts";
import type { MetricWarning } from "../metrics/types.ts";
import { silentReporter } from "../progress/reporter.ts";
import type { Tensor } from "../reference/tensor.ts";
import type { RunDirectory } from "../run/run-dir.ts";
import { RunError } from "./errors.ts";
import { type BlockResult, checkAborted, forwardSource, outputSite } from "./evaluate.ts";
import { loadBackbone } from "./model.ts";
import type { RunOptions, RunResult } from "./run-context.ts";
import { createRunDirectory, openContext, resolveTemplates } from "./run-context.ts";
import { resolveMemory, resolveSequence, type TaskSequence } from "./sequence.ts";
import { checkTaskMetrics, type StepMetrics, sequenceMetrics, stepMetrics } from "./task-metrics.ts";
import { type TaskTraining, taskTraining } from "./task-train.ts";
import { modelParams } from "./train.ts";

/** Blocks that run something: beside a tasks block, vlmp run runs none of them at the top level. */
const RUNNABLE = new Set(["train", "finetune", "evaluate", "constants", "stage", "fit", "summary"]);

/** The tasks block of `ir`, checked: one evaluate block, at most one train block, nothing else that runs. */
function tasksPlan(ir: PipelineIr): { tasks: IrBlock; evaluate: IrBlock; train?: IrBlock } {
  const tasks = ir.root.blocks.filter((b) => b.block === "tasks");
  if (tasks.length !== 1)
    throw new RunError(`pipeline '${ir.pipeline}' has ${tasks.length} tasks blocks; vlmp run runs one`);
  const beside = ir.root.blocks.find((b) => RUNNABLE.has(b.block));
  if (beside) {
    throw new RunError(
      `pipeline '${ir.pipeline}': a top-level ${beside.block} block beside the tasks block is not supported by vlmp run yet (put it inside tasks { … })`,
    );
  }
  const block = tasks[0]!;
  for (const child of block.blocks) {
    if (child.block === "finetune") {
      throw new RunError(
        "tasks.finetune (the fine-tuning phase on the exemplar memory, METHODS §2.5) is not supported by vlmp run yet; remove the block to run the sequence without it",
      );
    }
    if (!["train", "evaluate"].includes(child.block))
      throw new RunError(`tasks.${child.block}: vlmp run runs train and evaluate blocks inside tasks so far`);
  }
  const evaluates = block.blocks.filter((b) => b.block === "evaluate");
  const trains = block.blocks.filter((b) => b.block === "train");
  if (evaluates.length !== 1)
    throw new RunError(`tasks holds ${evaluates.length} evaluate blocks; vlmp run needs one`);
  if (trains.length > 1) throw new RunError(`tasks holds ${trains.length} train blocks; vlmp run trains one`);
  return { tasks: block, evaluate: evaluates[0]!, ...(trains[0] ? { train: trains[0] } : {}) };
}

/** One DataSource over every task's test images, in task order (labels: sequence positions). */
function sequenceTestSource(sequence: TaskSequence): DataSource {
  const items = sequence.test.flat().map((it, index) => ({ ...it, index }));
  return {
    description: `the test images of ${sequence.sizes.length} tasks`,
    items,
    classes: sequence.classes,
    known: sequence.classes.length,
    labelsHidden: false,
  };
}

export async function runTasks(ir: PipelineIr, options: RunOptions): Promise<RunResult> {
  if (options.resume) throw new RunError("--resume: vlmp run does not resume task sequences yet");
  const reporter = options.reporter ?? silentReporter;
  const plan = tasksPlan(ir);
  const data = ir.root.blocks.find((b) => b.block === "data");
  if (!data) throw new RunError(`pipeline '${ir.pipeline}' has no data block`);
  const resolver = new DataResolver(data.settings);
  const templates = resolveTemplates(ir, data.settings["templates"]);
  const sequence = resolveSequence(resolver, plan.tasks.settings["sequence"] ?? { $ref: "data.sequence" });
  const novelty = plan.tasks.settings["novelty"] === true;
  const evaluate = plan.evaluate;
  const label = evaluate.label ?? "test";
  const site = outputSite(evaluate);
  const calls = (evaluate.settings["metrics"] ?? []) as JsonValue[];
  checkTaskMetrics(calls, novelty);
  const batch = Number(evaluate.settings["batch"] ?? 192);
  const T = sequence.sizes.length;
  const seed = Number(ir.root.settings["seed"] ?? 0);
  const backbone = loadBackbone(ir);
  const adapters = ir.root.adapters;
  const params = adapters.length > 0 ? modelParams(ir, backbone, adapters, seed) : undefined;
  const weightCache = new Map<string, Tensor>(params?.values ?? []);
  const scope: ObjectiveBlock = { path: "tasks", block: plan.tasks, ancestors: [ir.root] };
  const memory = resolveMemory(plan.tasks.settings["memory"], (ref) => resolveSetting(scope, ref));

  const ctx = await openContext(ir, options, { backbone, adapters, templates, reporter, weightCache });
  const backend = ctx.backend;
  let run: RunDirectory | undefined;
  let training: TaskTraining | undefined;
  try {
    if (plan.train) {
      if (!params) throw new RunError("tasks.train: nothing to train: the pipeline has no adapter");
      const on = plan.train.settings["on"];
      if (on !== null && on !== undefined && resolver.source(on) !== sequence.trainSource) {
        throw new RunError(
          "tasks.train.on: inside tasks, vlmp run trains on each task's images of the sequence's train source",
        );
      }
      const o = { path: "tasks.train", block: plan.train, ancestors: [ir.root, plan.tasks] };
      training = taskTraining(ctx, o, { sequence, memory, params, seed });
    }
    run = createRunDirectory(ir, options, seed, backend);
    const test = sequenceTestSource(sequence);
    const steps: StepMetrics[] = [];
    const blocks: BlockResult[] = [];
    const warnings: MetricWarning[] = [];
    const note = (ws: readonly MetricWarning[], where: string) => {
      for (const w of ws) {
        reporter.log(`warning: ${where}: ${w.message}`);
        warnings.push(w);
      }
    };
    let output: { data: Float64Array; rows: number; cols: number } | undefined;
    let seconds = 0;
    let images = 0;
    for (let t = 0; t < T; t++) {
      checkAborted(options.signal);
      const stage = `task${t + 1}`;
      if (training) await training.train(t, run);
      if (!output || training) {
        const forward = await forwardSource(
          ctx,
          `${stage} evaluate ${label}`,
          test,
          sequence.classes,
          batch,
          [site],
        );
        output = forward.outputs.get(site)!;
        seconds = forward.seconds;
        images = test.items.length;
      }
      const step = stepMetrics(sequence, output, t, calls, { novelty, batch });
      steps.push(step);
      note(step.warnings, `${stage} evaluate ${label}`);
      run.log({ kind: "eval", stage, split: label, values: step.values });
      blocks.push({
        label: `${label} after ${stage}`,
        metrics: { values: step.values, warnings: step.warnings, diagrams: [] },
        output,
        labels: test.items.map((it) => it.label),
        images,
        seconds,
        totalSeconds: seconds,
      });
    }
    const whole = sequenceMetrics(steps, calls);
    note(whole.warnings, `tasks evaluate ${label}`);
    run.writeSummary({
      after: whole.values,
      extra: {
        status: "finished",
        backend: backend.description,
        tasks: {
          classes: sequence.sizes.map((n, t) =>
            sequence.classes.slice(sequence.starts[t], sequence.starts[t]! + n),
          ),
          accuracy: steps.map((s) => s.accuracies),
          task_aware_accuracy: steps.map((s) => s.taskAware),
          ...(training ? { train: training.stats() } : {}),
        },
        ...(warnings.length > 0 ? { warnings: warnings.map((w) => `${w.metric}: ${w.message}`) } : {}),
      },
    });
    const trained = training?.totals();
    return {
      dir: run.path,
      backend: backend.description,
      blocks,
      after: whole.values,
      tasks: T,
      ...(trained ? { train: trained } : {}),
    };
  } catch (error) {
    run?.writeSummary({
      extra: { status: "interrupted", reason: (error as Error).message, backend: backend.description },
    });
    throw error;
  } finally {
    training?.release();
    if (!options.backendInstance) backend.close();
  }
}
