// `vlmp run` trains inside a `tasks` block (continual CoOp, METHODS §2.5/§2.7): a tiny random CLIP and a
// small `clap4clip` world (4 of its classes in 2 tasks, to stay fast), on the reference interpreter.
// Replayed exemplars join the later task's training images (more steps); the same seed gives identical
// losses and matrices; the firstK memory keeps floor(total / seen classes) of each seen class, the first
// in source order.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { DataItem } from "../../runtime/data/sources/types.ts";
import { runPipeline } from "../../runtime/engine/run.ts";
import { exemplarsBefore, type TaskSequence } from "../../runtime/engine/sequence.ts";
import { compileForRun, tinyWorkspace, writePipeline } from "../support/workspace.ts";

const workspace = tinyWorkspace("vlmp-tasks-train-", { name: "clap4clip", count: 120, size: 32 });
const { dir, world } = workspace;
const root = JSON.stringify(world);

const spec = (name: string, memory: string, lr: number) =>
  writePipeline(workspace, name, {
    uses: [
      "adapters.prompt",
      "losses.ce",
      "optim.{sgd, constant}",
      "data.{synthetic, synthetic_classes, pick, class_incremental, exemplars}",
      "metrics.{accuracy, average_accuracy, backward_transfer, ece}",
    ],
    seed: 5,
    body: `  data {
    all = synthetic_classes(world: clap4clip, root: ${root}, part: all)
    classes = pick(all, [0..2, 5..7])
    train = synthetic(world: clap4clip, root: ${root}, part: "train")
    test = synthetic(world: clap4clip, root: ${root}, part: "test")
    sequence = class_incremental(classes: classes, train: data.train, test: data.test, tasks: 2)
  }
  adapt prompt(context: 2, init: "a photo", class_position: end)
  tasks {
    ${memory}
    train {
      objective = ce(logits, labels)
      optimizer = sgd(lr: ${lr}, momentum: 0.9)
      schedule = constant()
      epochs = 1
      batch = 4
    }
    evaluate test {
      batch = 20
      metrics = [accuracy(), average_accuracy(), backward_transfer(), ece()]
    }
  }`,
  });

type Row = { kind: string; stage: string; values: Record<string, number> };

const run = async (name: string, memory = "", lr = 0.05) => {
  const { ir, hash } = compileForRun(spec(name, memory, lr));
  const r = await runPipeline(ir, {
    specText: "",
    irHash: hash,
    backend: "reference",
    runsRoot: join(dir, "runs"),
  });
  const records = readFileSync(join(r.dir, "metrics.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as Row);
  return { summary: JSON.parse(readFileSync(join(r.dir, "summary.json"), "utf8")), records };
};

const stepsPerTask = (records: readonly Row[]) =>
  [1, 2].map((t) => records.filter((r) => r.kind === "step" && r.stage === `task${t}`).length);

describe("vlmp run: training inside a task sequence", () => {
  it("trains each task with the replayed exemplars, then evaluates; the same seed gives identical results", async () => {
    const memory = "memory = exemplars(per_class: 2, selector: firstK)";
    const a = await run("coop_replay", memory);
    const b = await run("coop_replay", memory);
    // 2 tasks × 2 classes × 4 training images, batches of 4; task 2 adds 2 exemplars of each of task 1's
    // 2 classes (one more step).
    expect(stepsPerTask(a.records)).toEqual([2, 3]);
    expect(a.summary.extra.tasks.train).toMatchObject({ updates: "host", steps: 5 });
    expect(a.records.filter((r) => r.kind === "eval").map((r) => r.stage)).toEqual([
      "before",
      "task1",
      "task2",
    ]);
    expect(a.summary.extra.tasks.accuracy.map((row: number[]) => row.length)).toEqual([1, 2]);
    const losses = (rs: readonly Row[]) => rs.filter((r) => r.kind === "step").map((r) => r.values["loss"]);
    expect(losses(a.records).every(Number.isFinite)).toBe(true);
    expect(losses(b.records)).toEqual(losses(a.records));
    expect(b.summary.extra.tasks.accuracy).toEqual(a.summary.extra.tasks.accuracy);
    expect(b.summary.after).toEqual(a.summary.after);
  });

  it("summary.json before is the sequence evaluated with the model as loaded: what a run that never moves the prompt ends with", async () => {
    const trained = await run("coop_lr", "", 0.05);
    const frozen = await run("coop_lr", "", 0);
    expect(Object.keys(trained.summary.before)).toEqual(
      expect.arrayContaining(["average_accuracy", "backward_transfer"]),
    );
    expect(frozen.summary.before).toEqual(trained.summary.before);
    expect(frozen.summary.after).toEqual(frozen.summary.before);
    // Training moves the calibration even where one epoch on a random tiny CLIP leaves accuracies alone.
    expect(trained.summary.after.ece).not.toEqual(trained.summary.before.ece);
  });

  it("firstK keeps floor(total / seen classes) of each seen class, the first in source order", () => {
    const item = (label: number, index: number): DataItem => ({ path: `${index}.png`, label, index });
    const train = [
      [item(0, 0), item(1, 1), item(0, 2), item(0, 3), item(1, 4)],
      [item(2, 5), item(3, 6), item(2, 7), item(3, 8)],
      [item(4, 9), item(5, 10)],
    ];
    const classes = ["a", "b", "c", "d", "e", "f"];
    const trainSource = { description: "train", items: train.flat(), classes, known: 6, labelsHidden: false };
    const sequence: TaskSequence = {
      classes,
      starts: [0, 2, 4],
      sizes: [2, 2, 2],
      trainSource,
      train,
      test: [],
    };
    const memory = { total: 5, perClass: 0, selector: "firstK" } as const;
    expect(exemplarsBefore(sequence, memory, 0)).toEqual([]);
    // After task 1: 2 classes seen, floor(5 / 2) = 2 each.
    expect(exemplarsBefore(sequence, memory, 1).map((i) => i.index)).toEqual([0, 1, 2, 4]);
    // After task 2: 4 classes seen, floor(5 / 4) = 1 each.
    expect(exemplarsBefore(sequence, memory, 2).map((i) => i.index)).toEqual([0, 1, 5, 6]);
    const perClass = { total: 0, perClass: 1, selector: "firstK" } as const;
    expect(exemplarsBefore(sequence, perClass, 2).map((i) => i.index)).toEqual([0, 1, 5, 6]);
  });
});
