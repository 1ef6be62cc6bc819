// The task-training phase of a task sequence (METHODS §2.5): for task t, the `tasks.train` block's objective
// over the task's training images plus the exemplars replayed from `tasks.memory`, with logits over the
// classes seen so far (labels are sequence positions, so they index those logits); a fresh optimiser and
// schedule per task (the official code makes one per task) over the parameters the adapters train, which
// carry over from task to task. The steps are train.ts's (step graph, feeds, epoch loop, step runner). After
// every epoch the caller gets the task's progress to checkpoint, and a resumed task continues from one.

import type { ObjectiveBlock } from "../../compiler/lower/objective.ts";
import { resolveSetting } from "../../compiler/lower/objective.ts";
import { isJsonObject, type JsonValue } from "../../compiler/values.ts";
import type { DataSource } from "../data/sources/types.ts";
import type { RunDirectory } from "../run/run-dir.ts";
import { RunError } from "./errors.ts";
import { type EvaluateContext, promptsPerClass, promptTensors } from "./evaluate.ts";
import { createOptimizer, type HostParam } from "./optimizer.ts";
import { createSchedule } from "./schedule.ts";
import { type ExemplarMemory, exemplarsBefore, seenClasses, type TaskSequence } from "./sequence.ts";
import { StepRunner, type StepTiming } from "./step-runner.ts";
import {
  adapterKeys,
  epochOrder,
  epochSteps,
  type ModelParams,
  parseAugment,
  readsCaptions,
  stepFeeds,
  stepGraphs,
  trainEpoch,
  trainTiming,
} from "./train.ts";

/** A task's training after some of its epochs: what a checkpoint within the task holds. */
export interface TaskProgress {
  /** Epochs of the task trained, and the steps they took (within the task, and over the sequence). */
  readonly epoch: number;
  readonly taskStep: number;
  readonly step: number;
  readonly optimizerSteps: number;
  readonly optimizer: ReadonlyMap<string, Float64Array>;
  readonly params: ReadonlyMap<string, Float64Array>;
}

export interface TaskTraining {
  /**
   * Trains task t (0-based), logging its steps and epochs into `run` and handing `checkpoint` the progress
   * after each epoch; `from` continues a task after the epochs it holds (the parameters already restored).
   */
  train(
    t: number,
    run: RunDirectory,
    o: { from?: TaskProgress | undefined; checkpoint: (p: TaskProgress) => void },
  ): Promise<void>;
  /** summary.json's `train` figures over all tasks so far. */
  stats(): Record<string, unknown>;
  /** Steps, epochs per task, and the seconds of the timed steps, over all tasks so far. */
  totals(): { steps: number; epochs: number; seconds: number; timedSteps: number };
  /** Releases the device trainers of a task cut short. */
  release(): void;
}

/** Checks the train block of `o` and prepares the training of each task. */
export function taskTraining(
  ctx: EvaluateContext,
  o: ObjectiveBlock,
  c: {
    readonly sequence: TaskSequence;
    readonly memory: ExemplarMemory | undefined;
    readonly params: ModelParams;
    readonly seed: number;
    /** Steps the sequence took before (a resumed run's). */
    readonly steps: number;
  },
): TaskTraining {
  const setting = (key: string): JsonValue | undefined => {
    const v = o.block.settings[key];
    return isJsonObject(v) && "$ref" in v ? resolveSetting(o, String(v["$ref"])) : v;
  };
  for (const key of ["paired", "reference", "bank", "queue"]) {
    if (setting(key) !== null && setting(key) !== undefined)
      throw new RunError(`tasks.train.${key} is not supported by vlmp run yet`);
  }
  const select = setting("select");
  if (isJsonObject(select) && String(select["$call"]).split(".").pop() !== "last")
    throw new RunError(`tasks.train.select = ${String(select["$call"])}(…) is not supported yet (last())`);
  if (readsCaptions(o))
    throw new RunError("tasks.train: an objective over caption sites has no class sequence");
  const { ir, backbone, adapters, weightCache, reporter } = ctx;
  const { sequence, memory, params, seed } = c;
  if (params.trainable.length === 0)
    throw new RunError("tasks.train: nothing to train: no adapter makes a parameter trainable");
  const epochs = Number(setting("epochs"));
  const batch = Number(setting("batch"));
  const shuffle = setting("shuffle") !== false;
  const dropLast = setting("drop_last") === true;
  const augment = parseAugment(setting("augment"));
  const schedule = createSchedule(setting("schedule"));
  const optimizerCall = setting("optimizer");
  // Checked before the run directory exists; each task makes its own.
  createOptimizer(optimizerCall, params.trainable, adapterKeys(ir, backbone, adapters, params));
  const hostParams = new Map<string, HostParam>(
    params.trainable.map((k) => [k, { key: k, data: weightCache.get(k)!.data }]),
  );

  const timing: StepTiming = { seconds: 0, steps: 0, images: 0, warmUpSeconds: 0 };
  let updates: StepRunner["updates"] = "host";
  let steps = c.steps;
  let runner: StepRunner | undefined;
  return {
    async train(t, run, { from, checkpoint }) {
      const stage = `task${t + 1}`;
      const classes = sequence.classes.slice(0, seenClasses(sequence, t));
      const replayed = memory ? exemplarsBefore(sequence, memory, t) : [];
      const items = [...sequence.train[t]!, ...replayed];
      const source: DataSource = {
        description: `task ${t + 1}'s training images${replayed.length > 0 ? ` and ${replayed.length} exemplars` : ""}`,
        items,
        classes,
        known: classes.length,
        labelsHidden: false,
      };
      const optimizer = createOptimizer(
        optimizerCall,
        params.trainable,
        adapterKeys(ir, backbone, adapters, params),
      );
      if (from) optimizer.importState(from.optimizerSteps, from.optimizer);
      runner = new StepRunner({
        backend: ctx.backend,
        backbone,
        weightCache,
        optimizer,
        hostParams,
        trainable: params.trainable,
        reporter,
      });
      const prompts = promptTensors(ctx, classes);
      const stepGraph = stepGraphs(
        ir,
        backbone,
        adapters,
        o,
        { classes: classes.length, prompts: promptsPerClass(ctx), samples: items.length },
        params.trainable,
        seed,
      );
      const stepsPerEpoch = epochSteps(items.length, batch, dropLast, `tasks.train (${stage})`);
      const totalSteps = stepsPerEpoch * epochs;
      let step = from?.taskStep ?? 0;
      for (let e = from?.epoch ?? 0; e < epochs; e++) {
        // Orders and augmentation keyed by the epoch over the whole sequence: each task draws its own.
        const epoch = t * epochs + e;
        const loss = await trainEpoch({
          items,
          batch,
          stepsPerEpoch,
          order: epochOrder(items.length, seed, epoch, shuffle),
          augment,
          seed,
          epoch,
          label: `${stage} epoch ${e + 1}/${epochs}`,
          stepGraph,
          runner,
          feeds: (g, rows, at) =>
            stepFeeds(g, rows, {
              backbone,
              prompts,
              constants: new Map(),
              source,
              counters: { epoch: e, epochs, step: at, steps: totalSteps },
            }),
          lr: (at) => schedule({ step: at, epoch: e, steps: totalSteps, epochs }),
          onStep: (loss, lr) => {
            step++;
            steps++;
            const groupLr = optimizer.groups[0] ? lr(optimizer.groups[0].lr) : 0;
            run.log({ kind: "step", stage, step: steps, epoch: e + 1, values: { loss, lr: groupLr } });
          },
          position: () => ({ step, epoch: e }),
          reporter,
          signal: ctx.signal,
        });
        run.log({ kind: "epoch", stage, epoch: e + 1, values: { loss } });
        await runner.pull();
        checkpoint({
          epoch: e + 1,
          taskStep: step,
          step: steps,
          optimizerSteps: optimizer.steps,
          optimizer: optimizer.exportState(),
          params: new Map(params.trainable.map((k) => [k, hostParams.get(k)!.data])),
        });
      }
      await runner.finish();
      updates = runner.updates;
      timing.seconds += runner.timing.seconds;
      timing.steps += runner.timing.steps;
      timing.images += runner.timing.images;
      timing.warmUpSeconds += runner.timing.warmUpSeconds;
      runner = undefined;
    },
    stats: () => trainTiming(timing, updates, epochs, steps),
    totals: () => ({ steps, epochs, seconds: timing.seconds, timedSteps: timing.steps }),
    release: () => runner?.release(),
  };
}
