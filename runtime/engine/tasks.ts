// `vlmp run` for a pipeline with a `tasks` block (continual learning, METHODS §2.5–2.6): for each task t of
// `data.sequence = class_incremental(...)`, train on the task's training images (with the replayed
// exemplars of `tasks.memory`) when the block has a `train` block, then run the block's `evaluate` over
// every task's test images and all classes once and read the step's metrics off that output (task-metrics.ts):
// a metrics.jsonl record per task (the row a_{t,·} and the step's metrics), and the sequence's metrics (Avg,
// Last, BwT, forgetting, TaW, the mean novelty AUROC, …) in summary.json `after`. Without training the model
// never changes, so its output is computed once. A checkpoint after every task and every training epoch
// (checkpoint.ts) lets `--resume` continue an interrupted sequence to the same results.

import { type IrBlock, irHash, type PipelineIr } from "../../compiler/ir.ts";
import { type ObjectiveBlock, resolveSetting } from "../../compiler/lower/objective.ts";
import type { JsonValue } from "../../compiler/values.ts";
import { DataResolver } from "../data/sources/resolve.ts";
import type { DataSource } from "../data/sources/types.ts";
import { BadImages, badImagePolicy } from "../image/bad-images.ts";
import type { MetricWarning } from "../metrics/types.ts";
import { silentReporter } from "../progress/reporter.ts";
import type { Tensor } from "../reference/tensor.ts";
import { RunDirectory } from "../run/run-dir.ts";
import { latestTasksCheckpoint, writeTasksCheckpoint } from "./checkpoint.ts";
import { RunError } from "./errors.ts";
import { type BlockResult, checkAborted, forwardSource, outputSite } from "./evaluate.ts";
import { loadBackbone } from "./model.ts";
import type { RunOptions, RunResult } from "./run-context.ts";
import { createRunDirectory, openContext, resolveTemplates, writeInterruptedSummary } from "./run-context.ts";
import { resolveMemory, resolveSequence, sequenceSources, type TaskSequence } from "./sequence.ts";
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

/** A summary's metric map with its nulls (non-finite values) as NaN; undefined when absent. */
function numbers(m: Record<string, number | null> | undefined): Record<string, number> | undefined {
  return m && Object.fromEntries(Object.entries(m).map(([k, v]) => [k, v ?? Number.NaN]));
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

/**
 * A task sequence's run directory to continue, its furthest checkpoint (checked against `ir`), and the
 * metrics.jsonl records written before that checkpoint.
 */
function resumePoint(dir: string, ir: PipelineIr, hash: string, T: number) {
  const run = RunDirectory.open(dir);
  if (run.summary().extra?.["status"] === "finished")
    throw new RunError(`${dir}: the sequence finished (see its summary.json); there is nothing to resume`);
  const from = latestTasksCheckpoint(run);
  if (!from)
    throw new RunError(`${dir} holds no task checkpoint to resume from (checkpoints/task-*.safetensors)`);
  const given = irHash(ir);
  const held = from.irHash !== given ? from.irHash : hash;
  if (held !== given) {
    throw new RunError(
      `${dir}: its checkpoint belongs to the pipeline with IR hash ${held}, not this one (${given}); resume with the spec the run holds (vlmp run --resume ${dir}) or start a new run`,
    );
  }
  if (from.tasks > T) throw new RunError(`${dir}: its checkpoint has ${from.tasks} tasks, the sequence ${T}`);
  // metrics.jsonl as it was when the checkpoint was written: the completed tasks' records, then the steps
  // and epochs of the epochs done of the next task.
  const records = run.records().filter((r) => {
    if (r.stage === "before") return true;
    const task = Number(r.stage?.replace(/^task/, ""));
    return (
      task <= from.tasks || (task === from.tasks + 1 && r.kind !== "eval" && (r.epoch ?? 0) <= from.epoch)
    );
  });
  return { run, from, records };
}

export async function runTasks(ir: PipelineIr, options: RunOptions): Promise<RunResult> {
  const reporter = options.reporter ?? silentReporter;
  const plan = tasksPlan(ir);
  const data = ir.root.blocks.find((b) => b.block === "data");
  if (!data) throw new RunError(`pipeline '${ir.pipeline}' has no data block`);
  const resolver = new DataResolver(data.settings);
  const templates = resolveTemplates(ir, data.settings["templates"]);
  const sequenceValue = plan.tasks.settings["sequence"] ?? { $ref: "data.sequence" };
  const badImages = new BadImages(badImagePolicy(data.settings), reporter);
  const usable = new Map<DataSource, DataSource>();
  for (const source of sequenceSources(resolver, sequenceValue))
    usable.set(source, await badImages.usable(source));
  const sequence = resolveSequence(resolver, sequenceValue, (source) => usable.get(source) ?? source);
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
  let lastCheckpoint: string | undefined;
  try {
    // Checked before `run` is set: a refused resume leaves the run directory as it was.
    const resumed = options.resume ? resumePoint(options.resume, ir, options.irHash, T) : undefined;
    const from = resumed?.from;
    for (const [k, value] of from?.params ?? []) {
      const target = weightCache.get(k);
      if (!params?.trainable.includes(k) || !target || target.data.length !== value.length)
        throw new RunError(`${options.resume}: the checkpoint's '${k}' does not fit the model`);
      target.data.set(value);
    }
    if (plan.train) {
      if (!params) throw new RunError("tasks.train: nothing to train: the pipeline has no adapter");
      const on = plan.train.settings["on"];
      if (on !== null && on !== undefined && resolver.source(on) !== sequence.trainSource) {
        throw new RunError(
          "tasks.train.on: inside tasks, vlmp run trains on each task's images of the sequence's train source",
        );
      }
      const o = { path: "tasks.train", block: plan.train, ancestors: [ir.root, plan.tasks] };
      training = taskTraining(ctx, o, { sequence, memory, params, seed, steps: from?.step ?? 0 });
    }
    const out = resumed?.run ?? createRunDirectory(ir, options, seed, backend);
    if (resumed)
      out.writeFile("metrics.jsonl", resumed.records.map((r) => `${JSON.stringify(r)}\n`).join(""));
    run = out;
    if (badImages.policy === "skip") out.writeFile("skipped-images.txt", badImages.listing());
    if (from) reporter.log(`resuming ${out.path} after task ${from.tasks} (epoch ${from.epoch} of the next)`);
    const test = sequenceTestSource(sequence);
    const steps: StepMetrics[] = [...(from?.metrics ?? [])];
    const blocks: BlockResult[] = [];
    const warnings: MetricWarning[] = steps.flatMap((s) => s.warnings);
    const note = (ws: readonly MetricWarning[], where: string) => {
      for (const w of ws) {
        reporter.log(`warning: ${where}: ${w.message}`);
        warnings.push(w);
      }
    };
    const checkpointAfter = (tasks: number) => {
      lastCheckpoint = writeTasksCheckpoint(
        out,
        {
          tasks,
          epoch: 0,
          step: training?.totals().steps ?? 0,
          taskStep: 0,
          optimizerSteps: 0,
          params: new Map(training ? params!.trainable.map((k) => [k, weightCache.get(k)!.data]) : []),
          optimizer: new Map(),
          metrics: steps,
        },
        options,
      );
    };
    // Task 0: an interruption within the first task resumes too (from the start, in this directory).
    if (!from) checkpointAfter(0);
    let output: { data: Float64Array; rows: number; cols: number } | undefined;
    let seconds = 0;
    let images = 0;
    // A sequence that trains: `before` is the same sequence evaluated with the model as loaded (the
    // adapters at initialisation, e.g. Continual-CLIP's zero-shot), computed once at the start; a resumed
    // run keeps the one its summary holds.
    let before = resumed ? numbers(out.summary().before) : undefined;
    if (training && !from) {
      const forward = await forwardSource(ctx, `before evaluate ${label}`, test, sequence.classes, batch, [
        site,
      ]);
      const loaded = forward.outputs.get(site)!;
      const rows = Array.from({ length: T }, (_, t) =>
        stepMetrics(sequence, loaded, t, calls, { novelty, batch }),
      );
      before = sequenceMetrics(rows, calls).values;
      out.log({ kind: "eval", stage: "before", split: label, values: before });
      out.writeSummary({ before });
    }
    for (let t = from?.tasks ?? 0; t < T; t++) {
      checkAborted(options.signal);
      const stage = `task${t + 1}`;
      if (training) {
        await training.train(t, out, {
          from: from && from.tasks === t && from.epoch > 0 ? from : undefined,
          checkpoint: (p) => {
            lastCheckpoint = writeTasksCheckpoint(out, { ...p, tasks: t, metrics: steps }, options);
          },
        });
      }
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
      out.log({ kind: "eval", stage, split: label, values: step.values });
      checkpointAfter(t + 1);
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
    out.writeSummary({
      after: whole.values,
      extra: {
        status: "finished",
        // An interrupted run's notes go (undefined drops them from the merged summary).
        reason: undefined,
        resume: undefined,
        checkpoint: lastCheckpoint,
        ...(from ? { resumed_from: { tasks: from.tasks, epoch: from.epoch } } : {}),
        backend: backend.description,
        ...badImages.summaryFields(),
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
      dir: out.path,
      backend: backend.description,
      blocks,
      after: whole.values,
      ...(before ? { before } : {}),
      tasks: T,
      ...(trained ? { train: trained } : {}),
    };
  } catch (error) {
    if (run)
      writeInterruptedSummary(run, error, {
        backend: backend.description,
        checkpoint: lastCheckpoint,
        extra: badImages.summaryFields(),
      });
    throw error;
  } finally {
    training?.release();
    if (!options.backendInstance) backend.close();
  }
}
