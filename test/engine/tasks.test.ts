// `vlmp run` on a pipeline with a `tasks` block, zero-shot (Continual-CLIP): a tiny random CLIP and a small
// `clap4clip` world in a temp folder, on the reference interpreter. The accuracy matrix is lower-triangular
// with one metrics.jsonl record per task; a cell equals the accuracy computed by hand from a plain zero-shot
// run over all classes; the summary's sequence metrics are runtime/metrics/continual.ts applied to the
// matrices; novelty metrics only before the last task; one task gives NaN BwT with a warning; blocks the
// runtime does not run give a RunError that names them.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { RunError } from "../../runtime/engine/errors.ts";
import { runPipeline } from "../../runtime/engine/run.ts";
import {
  averageAccuracy,
  backwardTransfer,
  forgetting,
  lastAccuracy,
} from "../../runtime/metrics/continual.ts";
import { compileForRun, tinyWorkspace, writePipeline } from "../support/workspace.ts";

const workspace = tinyWorkspace("vlmp-tasks-", { name: "clap4clip", count: 120, size: 32 });
const { dir, world } = workspace;
const root = JSON.stringify(world);

const METRICS = `[
        accuracy(),
        average_accuracy(),
        last_accuracy(),
        backward_transfer(),
        forgetting(),
        task_aware_accuracy(),
        ece(),
        auroc(score: energy, positive: in_distribution),
      ]`;

const spec = (name: string, options: { tasks?: number; extra?: string } = {}) =>
  writePipeline(workspace, name, {
    uses: [
      "losses",
      "optim.sgd",
      "data.{synthetic, synthetic_classes, class_incremental}",
      "metrics.{accuracy, average_accuracy, last_accuracy, backward_transfer, forgetting, task_aware_accuracy, ece, auroc}",
    ],
    seed: 3,
    body: `  data {
    classes = synthetic_classes(world: clap4clip, root: ${root}, part: all)
    templates = ["a photo of a {}.", "a drawing of a {}."]
    train = synthetic(world: clap4clip, root: ${root}, part: "train")
    test = synthetic(world: clap4clip, root: ${root}, part: "test")
    sequence = class_incremental(classes: classes, train: data.train, test: data.test, tasks: ${options.tasks ?? 5}, order_seed: 7)
  }
  tasks {
    novelty = true
${options.extra ?? ""}
    evaluate test {
      output = logits
      batch = 20
      metrics = ${METRICS}
    }
  }`,
  });

type Row = { stage: string; values: Record<string, number | null> };
const readRun = (runDir: string) => ({
  summary: JSON.parse(readFileSync(join(runDir, "summary.json"), "utf8")),
  records: readFileSync(join(runDir, "metrics.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as Row),
});

const run = async (name: string, options: Parameters<typeof spec>[1] = {}) => {
  const { ir, hash } = compileForRun(spec(name, options));
  const r = await runPipeline(ir, {
    specText: "",
    irHash: hash,
    backend: "reference",
    runsRoot: join(dir, "runs"),
  });
  return { result: r, ...readRun(r.dir) };
};

describe("vlmp run: a task sequence, zero-shot", () => {
  it("writes a lower-triangular accuracy matrix whose cells are the hand-computed accuracies", async () => {
    const { summary, records } = await run("continual");
    const T = 5;
    expect(records.map((r) => r.stage)).toEqual(["task1", "task2", "task3", "task4", "task5"]);
    const matrix: number[][] = summary.extra.tasks.accuracy;
    expect(matrix.map((row) => row.length)).toEqual([1, 2, 3, 4, 5]);
    records.forEach((r, t) => {
      const cells = Object.keys(r.values).filter((k) => k.startsWith("accuracy.task"));
      expect(cells).toEqual(Array.from({ length: t + 1 }, (_, k) => `accuracy.task${k + 1}`));
      expect(cells.map((k) => r.values[k])).toEqual(matrix[t]);
    });

    // a_{3,2} by hand: a plain zero-shot run over all 20 classes (in the world's order), argmax over the
    // classes seen after task 3, on the test images of task 2's classes.
    const plain = writePipeline(workspace, "plain", {
      uses: ["data.{synthetic, synthetic_classes}", "metrics.accuracy"],
      seed: 3,
      body: `  data {
    classes = synthetic_classes(world: clap4clip, root: ${root}, part: all)
    templates = ["a photo of a {}.", "a drawing of a {}."]
    test = synthetic(world: clap4clip, root: ${root}, part: "test")
  }
  evaluate test {
    output = logits
    batch = 20
    metrics = [accuracy()]
  }`,
    });
    const compiled = compileForRun(plain);
    const zs = await runPipeline(compiled.ir, {
      specText: "",
      irHash: compiled.hash,
      backend: "reference",
      runsRoot: join(dir, "runs"),
    });
    const worldClasses = readFileSync(join(world, "classes.txt"), "utf8").trim().split("\n");
    const tasks: string[][] = summary.extra.tasks.classes;
    const seen = tasks
      .slice(0, 3)
      .flat()
      .map((c) => worldClasses.indexOf(c));
    const own = new Set(tasks[1]!.map((c) => worldClasses.indexOf(c)));
    const { output, labels } = zs.blocks[0]!;
    let hits = 0;
    let n = 0;
    labels.forEach((y, i) => {
      if (!own.has(y)) return;
      const best = seen.reduce((a, c) =>
        output.data[i * output.cols + c]! > output.data[i * output.cols + a]! ? c : a,
      );
      hits += best === y ? 1 : 0;
      n++;
    });
    expect(n).toBeGreaterThan(0);
    expect(matrix[2]![1]).toBe(hits / n);

    // The sequence's metrics are continual.ts on the matrices; novelty is measured before the last task only.
    const taw: number[][] = summary.extra.tasks.task_aware_accuracy;
    expect(summary.after.average_accuracy).toBe(averageAccuracy(matrix).value);
    expect(summary.after.last_accuracy).toBe(lastAccuracy(matrix).value);
    expect(summary.after.backward_transfer).toBe(backwardTransfer(matrix).value);
    expect(summary.after.forgetting).toBe(forgetting(matrix).value);
    expect(summary.after.task_aware_accuracy).toBe(lastAccuracy(taw).value);
    expect(summary.after.ece).toBe(records[T - 1]!.values["ece"]);
    const aurocs = records.slice(0, T - 1).map((r) => r.values["auroc"] as number);
    for (const a of aurocs) expect(a).toBeGreaterThanOrEqual(0);
    expect("auroc" in records[T - 1]!.values).toBe(false);
    expect(summary.after.auroc).toBeCloseTo(aurocs.reduce((a, b) => a + b, 0) / aurocs.length, 12);
    // After task 1 the seen classes are task 1's own: task-aware and class-incremental accuracy agree.
    expect(taw[0]![0]).toBe(matrix[0]![0]);
  });

  it("one task: BwT and forgetting are NaN with a warning, and there is no novelty step", async () => {
    const { result, summary, records } = await run("one_task", { tasks: 1 });
    expect(records).toHaveLength(1);
    expect(summary.extra.status).toBe("finished");
    expect(summary.after.backward_transfer).toBeNull();
    expect(summary.after.forgetting).toBeNull();
    expect(Number.isNaN(result.after["backward_transfer"])).toBe(true);
    expect(summary.after.auroc).toBeNull();
    expect(summary.extra.warnings).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^backward_transfer: BwT needs ≥ 2 tasks/),
        expect.stringMatching(/^auroc: .*no step has future tasks/),
      ]),
    );
  });

  it("rejects a finetune block and novelty metrics without novelty, naming them", async () => {
    const finetune = compileForRun(
      spec("with_finetune", {
        extra: `    finetune {
      objective = losses.ce(logits, labels)
      optimizer = sgd(lr: 0.01)
      epochs = 1
      batch = 8
    }`,
      }),
    );
    await expect(
      runPipeline(finetune.ir, { specText: "", irHash: finetune.hash, backend: "reference", runsRoot: dir }),
    ).rejects.toThrow(/tasks\.finetune .*not supported by vlmp run yet/);
    const withAuroc = writePipeline(workspace, "auroc_no_novelty", {
      uses: ["data.{synthetic, synthetic_classes, class_incremental}", "metrics.{accuracy, auroc}"],
      seed: 3,
      body: `  data {
    classes = synthetic_classes(world: clap4clip, root: ${root}, part: all)
    train = synthetic(world: clap4clip, root: ${root}, part: "train")
    test = synthetic(world: clap4clip, root: ${root}, part: "test")
    sequence = class_incremental(classes: classes, train: data.train, test: data.test, tasks: 5)
  }
  tasks {
    evaluate test {
      metrics = [accuracy(), auroc(score: energy, positive: in_distribution)]
    }
  }`,
    });
    const bad = compileForRun(withAuroc);
    const error = await runPipeline(bad.ir, {
      specText: "",
      irHash: bad.hash,
      backend: "reference",
      runsRoot: dir,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RunError);
    expect((error as Error).message).toMatch(
      /auroc\(\) needs out-of-distribution images: set tasks\.novelty = true/,
    );
  });
});
