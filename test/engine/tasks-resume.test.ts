// `vlmp run --resume` on a task sequence: a run interrupted (as Ctrl-C does) within task 1, after a task,
// or within a task's training continues from its last checkpoint to the summary and metrics.jsonl records
// of an uninterrupted run, bit for bit (reference interpreter, a tiny random CLIP, a small `clap4clip`
// world: 3 zero-shot tasks, 2 trained ones, of 2 classes each). Resuming with another spec, or a finished
// run, is refused and changes nothing.

import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { PipelineIr } from "../../compiler/ir.ts";
import { runPipeline } from "../../runtime/engine/run.ts";
import { type ProgressReporter, silentReporter } from "../../runtime/progress/reporter.ts";
import { compileForRun, tinyWorkspace, writePipeline } from "../support/workspace.ts";

const workspace = tinyWorkspace("vlmp-tasks-resume-", { name: "clap4clip", count: 120, size: 32 });
const { dir, world } = workspace;
const root = JSON.stringify(world);

/** A sequence of `tasks` tasks of 2 classes; `train` is the tasks block's train block (none: zero-shot). */
const spec = (name: string, tasks: number, train = "") =>
  writePipeline(workspace, name, {
    uses: [
      "adapters.prompt",
      "losses.ce",
      "optim.{sgd, constant}",
      "data.{synthetic, synthetic_classes, pick, class_incremental, exemplars}",
      "metrics.{accuracy, average_accuracy, backward_transfer, forgetting, task_aware_accuracy, auroc}",
    ],
    seed: 5,
    body: `  data {
    all = synthetic_classes(world: clap4clip, root: ${root}, part: all)
    classes = pick(all, [0..${2 * tasks}])
    train = synthetic(world: clap4clip, root: ${root}, part: "train")
    test = synthetic(world: clap4clip, root: ${root}, part: "test")
    sequence = class_incremental(classes: classes, train: data.train, test: data.test, tasks: ${tasks})
  }
  adapt prompt(context: 2, init: "a photo", class_position: end)
  tasks {
    novelty = true
    ${train}
    evaluate test {
      batch = 20
      metrics = [
        accuracy(),
        average_accuracy(),
        backward_transfer(),
        forgetting(),
        task_aware_accuracy(),
        auroc(score: energy, positive: in_distribution),
      ]
    }
  }`,
  });

const coop = (lr: number) => `memory = exemplars(per_class: 1, selector: firstK)
    train {
      objective = ce(logits, labels)
      optimizer = sgd(lr: ${lr}, momentum: 0.9)
      schedule = constant()
      epochs = 2
      batch = 4
    }`;

type RunOptions = Parameters<typeof runPipeline>[1];
const options = (hash: string): RunOptions => ({
  specText: "",
  irHash: hash,
  backend: "reference",
  runsRoot: join(dir, "runs"),
});

/** summary.json and metrics.jsonl's records without their times (which differ from run to run). */
const readRun = (runDir: string) => ({
  summary: JSON.parse(readFileSync(join(runDir, "summary.json"), "utf8")),
  records: readFileSync(join(runDir, "metrics.jsonl"), "utf8")
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => {
      const { time: _, ...record } = JSON.parse(l);
      return record;
    }),
});

/**
 * Runs `ir`, aborting it (as Ctrl-C does) when a progress task whose label starts with `at` starts
 * (`when: "start"`) or finishes; returns the interrupted run's directory.
 */
async function interrupt(ir: PipelineIr, hash: string, at: string, when: "start" | "finish") {
  const abort = new AbortController();
  const reporter: ProgressReporter = {
    ...silentReporter,
    task(label, total, o) {
      const task = silentReporter.task(label, total, o);
      if (!label.startsWith(at)) return task;
      if (when === "start") abort.abort();
      return { ...task, finish: () => abort.abort() };
    },
  };
  const runs = join(dir, "runs", ir.pipeline);
  const before = new Set(existsSync(runs) ? readdirSync(runs) : []);
  await expect(runPipeline(ir, { ...options(hash), reporter, signal: abort.signal })).rejects.toThrow(
    "interrupted",
  );
  return join(runs, readdirSync(runs).find((n) => !before.has(n))!);
}

/** Resumes `cut` and expects the summary and records of the uninterrupted run `whole`. */
async function expectResumedLike(ir: PipelineIr, hash: string, cut: string, whole: string) {
  const result = await runPipeline(ir, { ...options(hash), resume: cut });
  expect(result.dir).toBe(cut);
  const a = readRun(whole);
  const b = readRun(cut);
  expect(b.records).toEqual(a.records);
  expect(b.summary.after).toEqual(a.summary.after);
  expect(b.summary.extra.status).toBe("finished");
  expect(b.summary.extra.reason).toBeUndefined();
  expect(b.summary.extra.checkpoint).toBe(a.summary.extra.checkpoint);
  expect(b.summary.extra.warnings).toEqual(a.summary.extra.warnings);
  const { train: trainA, ...tasksA } = a.summary.extra.tasks;
  const { train: trainB, ...tasksB } = b.summary.extra.tasks;
  expect(tasksB).toEqual(tasksA);
  expect(trainB?.steps).toBe(trainA?.steps);
  return b.summary;
}

/** The CoOp sequence, and its uninterrupted run (made once, for the tests that compare with it). */
const coopRun = (() => {
  let whole: Promise<string> | undefined;
  return () => {
    const { ir, hash } = compileForRun(spec("coop", 2, coop(0.05)));
    whole ??= runPipeline(ir, options(hash)).then((r) => r.dir);
    return { ir, hash, whole };
  };
})();

describe("vlmp run --resume: task sequences", () => {
  it("a zero-shot sequence interrupted after task 1, or within it, resumes to the uninterrupted run's results", async () => {
    const { ir, hash } = compileForRun(spec("zs", 3));
    const whole = (await runPipeline(ir, options(hash))).dir;
    const cut = await interrupt(ir, hash, "task1 evaluate", "finish");
    const interrupted = readRun(cut);
    expect(interrupted.summary.extra).toMatchObject({
      status: "interrupted",
      checkpoint: join("checkpoints", "task-0001.safetensors"),
      resume: `vlmp run --resume ${cut}`,
    });
    expect(interrupted.records.map((r) => r.stage)).toEqual(["task1"]);
    const summary = await expectResumedLike(ir, hash, cut, whole);
    expect(summary.extra.resumed_from).toEqual({ tasks: 1, epoch: 0 });
    expect(summary.after.backward_transfer).toEqual(expect.any(Number));

    // Cut within task 1: the checkpoint written at the start resumes it from the beginning.
    const early = await interrupt(ir, hash, "task1 evaluate", "start");
    expect(readRun(early).summary.extra.checkpoint).toBe(join("checkpoints", "task-0000.safetensors"));
    expect((await expectResumedLike(ir, hash, early, whole)).extra.resumed_from).toEqual({
      tasks: 0,
      epoch: 0,
    });
  });

  it("a CoOp sequence cut within task 2's training resumes bit for bit (SGD momentum restored)", async () => {
    const { ir, hash, whole } = coopRun();
    const steps = readRun(await whole).records.filter((r) => r.kind === "step");
    expect(new Set(steps.map((r) => r.stage))).toEqual(new Set(["task1", "task2"]));
    const cut = await interrupt(ir, hash, "task2 epoch 2/2", "start");
    expect(readRun(cut).summary.extra.checkpoint).toBe(
      join("checkpoints", "task-0002-epoch-0001.safetensors"),
    );
    const summary = await expectResumedLike(ir, hash, cut, await whole);
    expect(summary.extra.resumed_from).toEqual({ tasks: 1, epoch: 1 });
  });

  it("a CoOp sequence cut after task 1 refuses another spec's resume, resumes, then refuses again", async () => {
    const { ir, hash, whole } = coopRun();
    const cut = await interrupt(ir, hash, "task1 evaluate", "finish");
    const before = readRun(cut);
    const changed = compileForRun(spec("coop", 2, coop(0.01)));
    expect(changed.hash).not.toBe(hash);
    await expect(runPipeline(changed.ir, { ...options(changed.hash), resume: cut })).rejects.toThrow(
      `its checkpoint belongs to the pipeline with IR hash ${hash}, not this one (${changed.hash})`,
    );
    expect(readRun(cut)).toEqual(before);

    const summary = await expectResumedLike(ir, hash, cut, await whole);
    expect(summary.extra.resumed_from).toEqual({ tasks: 1, epoch: 0 });
    const finished = readRun(cut);
    await expect(runPipeline(ir, { ...options(hash), resume: cut })).rejects.toThrow(
      "the sequence finished (see its summary.json); there is nothing to resume",
    );
    expect(readRun(cut)).toEqual(finished);
  });
});
