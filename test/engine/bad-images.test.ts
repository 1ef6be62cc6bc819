// `bad_images` (the data block's setting) end to end on a tiny CLIP and a `ueo` world: copies of the world
// with one image truncated and one deleted. `fail` stops at the first bad image, naming it; `skip` leaves
// both out, lists them in skipped-images.txt, counts them in summary.json, and evaluates, trains and embeds
// (`vlmp embed --data`) exactly as on a world that never listed them (items = used + skipped); task
// sequences refuse it.

import { cpSync, readFileSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import type { JsonValue } from "../../compiler/values.ts";
import { embedDataEntry, featuresFileMetadata, featuresFileTensors } from "../../runtime/embed/index.ts";
import { referenceBackend } from "../../runtime/engine/backend.ts";
import { RunError } from "../../runtime/engine/errors.ts";
import { computeMetrics } from "../../runtime/engine/metrics.ts";
import { runPipeline } from "../../runtime/engine/run.ts";
import { runTraining } from "../../runtime/engine/train.ts";
import { silentReporter } from "../../runtime/progress/reporter.ts";
import { compileForRun, tinyWorkspace, writePipeline, writeUeoSpec } from "../support/workspace.ts";

const workspace = tinyWorkspace("vlmp-bad-images-", { count: 60, size: 32 });
const backend = referenceBackend();

/** The manifest's rows of split `part`, as paths relative to the world (file order). */
function partPaths(world: string, part: string): string[] {
  return readFileSync(join(world, "manifest.csv"), "utf8")
    .trim()
    .split("\n")
    .slice(1)
    .map((line) => line.split(","))
    .filter((cells) => cells[3] === part)
    .map((cells) => cells[0]!);
}

interface BrokenWorld {
  readonly root: string;
  /** The truncated image (earlier in the part), then the deleted one, as the source names them. */
  readonly bad: readonly [string, string];
  /** Their positions in the part. */
  readonly positions: readonly [number, number];
}

/** A copy of the world in which the part's images at `positions` are truncated and deleted. */
function breakWorld(name: string, part: string, positions: [number, number]): BrokenWorld {
  const root = join(workspace.dir, name);
  cpSync(workspace.world, root, { recursive: true });
  const paths = partPaths(root, part);
  const [truncated, deleted] = positions.map((p) => join(root, paths[p]!)) as [string, string];
  truncateSync(truncated, 40);
  rmSync(deleted);
  return { root, bad: [truncated, deleted], positions };
}

/** A copy of the world whose manifest no longer lists the part's images at `positions`. */
function worldWithout(name: string, part: string, positions: readonly number[]): string {
  const root = join(workspace.dir, name);
  cpSync(workspace.world, root, { recursive: true });
  const [header, ...rows] = readFileSync(join(root, "manifest.csv"), "utf8").trim().split("\n");
  let k = -1;
  const kept = rows.filter((row) => row.split(",")[3] !== part || !positions.includes(++k));
  writeFileSync(join(root, "manifest.csv"), `${[header, ...kept].join("\n")}\n`);
  return root;
}

const zeroShot = (name: string, world: string, badImages: string) =>
  writePipeline(workspace, name, {
    uses: ["data.{synthetic, synthetic_classes}", "metrics.{accuracy, per_class_accuracy}"],
    seed: 7,
    body: `  data {
    classes = synthetic_classes(world: ueo, root: ${JSON.stringify(world)}, part: known)
    test = synthetic(world: ueo, root: ${JSON.stringify(world)}, part: "test")
    ${badImages}
  }
  evaluate test {
    batch = 10
    metrics = [accuracy(), per_class_accuracy()]
  }`,
  });

async function run(file: string) {
  const { ir, hash } = compileForRun(file);
  const logged: string[] = [];
  const result = await runPipeline(ir, {
    specText: "",
    irHash: hash,
    runsRoot: join(workspace.dir, "runs"),
    backendInstance: backend,
    reporter: { ...silentReporter, log: (line) => logged.push(line) },
  });
  const summary = JSON.parse(readFileSync(join(result.dir, "summary.json"), "utf8"));
  // A top-level evaluate block's metrics (a task sequence's sit inside `tasks`).
  const metrics = (ir.root.blocks.find((b) => b.block === "evaluate")?.settings["metrics"] ??
    []) as JsonValue[];
  return { result, summary, logged, metrics };
}

describe("bad_images in evaluation", () => {
  let broken: BrokenWorld;
  beforeAll(() => {
    broken = breakWorld("broken-test", "test", [2, 6]);
  });

  it("fail (the default) stops the run naming the first bad image", async () => {
    const { ir, hash } = compileForRun(zeroShot("bad_fail", broken.root, ""));
    const options = {
      specText: "",
      irHash: hash,
      runsRoot: join(workspace.dir, "runs"),
      backendInstance: backend,
    };
    const error = await runPipeline(ir, options).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RunError);
    expect((error as Error).message).toContain(broken.bad[0]);
    expect((error as Error).message).toContain("cannot decode image");
  });

  it("skip leaves both out, names them, counts them, and scores the images that were read", async () => {
    const whole = await run(zeroShot("bad_whole", workspace.world, ""));
    const skip = await run(zeroShot("bad_skip", broken.root, "bad_images = skip"));
    const listing = readFileSync(join(skip.result.dir, "skipped-images.txt"), "utf8").trim().split("\n");
    expect(listing.map((l) => l.split("\t").slice(0, 2).join(" "))).toEqual([
      expect.stringMatching(new RegExp(`^${broken.bad[0]} corrupt: `)),
      `${broken.bad[1]} missing: the file does not exist`,
    ]);
    expect(skip.summary.extra.skipped_images).toBe(2);
    expect(whole.summary.extra.skipped_images).toBeUndefined();
    expect(skip.logged.filter((l) => l.startsWith("warning: skipping "))).toHaveLength(2);

    const all = whole.result.blocks[0]!;
    const used = skip.result.blocks[0]!;
    // items = used + skipped
    expect(used.images + skip.summary.extra.skipped_images).toBe(all.images);
    // The remaining rows are the whole run's rows without the two, and the metrics are theirs.
    const keep = (_: unknown, i: number) => !broken.positions.includes(i);
    const C = all.output.cols;
    const rows = Array.from({ length: all.images }, (_, i) =>
      Array.from(all.output.data.subarray(i * C, (i + 1) * C)),
    );
    const kept = rows.filter(keep);
    expect(used.labels).toEqual(all.labels.filter(keep));
    let largest = 0;
    kept.flat().forEach((v, k) => {
      largest = Math.max(largest, Math.abs(v - used.output.data[k]!));
    });
    expect(used.output.data.length).toBe(kept.length * C);
    expect(largest).toBeLessThan(1e-9);
    const expected = computeMetrics(skip.metrics, {
      output: { data: Float64Array.from(kept.flat()), rows: kept.length, cols: C },
      labels: used.labels,
      groups: undefined,
      batch: 10,
    });
    for (const k of ["accuracy", "per_class_accuracy"])
      expect(skip.summary.after[k]).toBeCloseTo(expected.values[k]!, 12);
  });
});

describe("bad_images in task sequences", () => {
  const sequencePipeline = (name: string, world: string, badImages: string) => {
    const root = JSON.stringify(world);
    return writePipeline(workspace, name, {
      uses: [
        "data.{synthetic, synthetic_classes, class_incremental}",
        "metrics.{accuracy, average_accuracy}",
      ],
      seed: 0,
      body: `  data {
    classes = synthetic_classes(world: ueo, root: ${root}, part: known)
    train = synthetic(world: ueo, root: ${root}, part: "train")
    test = synthetic(world: ueo, root: ${root}, part: "test")
    sequence = class_incremental(classes: classes, train: data.train, test: data.test, tasks: 2, order_seed: 0)
    ${badImages}
  }
  tasks {
    evaluate test {
      batch = 10
      metrics = [accuracy(), average_accuracy()]
    }
  }`,
    });
  };

  it("skip leaves the unreadable test images out of every task, names and counts them", async () => {
    const broken = breakWorld("broken-tasks", "test", [1, 4]);
    const skip = await run(sequencePipeline("tasks_skip", broken.root, "bad_images = skip"));
    const without = await run(
      sequencePipeline("tasks_without", worldWithout("tasks-without", "test", [1, 4]), ""),
    );
    expect(skip.summary.extra.skipped_images).toBe(2);
    const listing = readFileSync(join(skip.result.dir, "skipped-images.txt"), "utf8").trim().split("\n");
    expect(listing.map((line) => line.split("\t")[0])).toEqual([...broken.bad]);
    expect(skip.summary.after).toEqual(without.summary.after);
    expect(skip.summary.extra.tasks.accuracy).toEqual(without.summary.extra.tasks.accuracy);
  });
});

describe("bad_images in vlmp embed --data", () => {
  it("skip writes the rows of the images that were read and lists the others in the metadata", async () => {
    const broken = breakWorld("broken-embed", "test", [0, 5]);
    const options = {
      backend,
      batch: 8,
      reporter: silentReporter,
      workers: 0,
    };
    const whole = await embedDataEntry(
      compileForRun(zeroShot("embed_whole", workspace.world, "")).ir,
      "test",
      options,
    );
    const skip = await embedDataEntry(
      compileForRun(zeroShot("embed_skip", broken.root, "bad_images = skip")).ir,
      "test",
      options,
    );
    const [features, labels] = featuresFileTensors(skip);
    const D = skip.dim;
    expect(features!.shape).toEqual([whole.source.items.length - 2, D]);
    const keep = (_: unknown, i: number) => !broken.positions.includes(i);
    expect(Array.from(labels!.data)).toEqual(whole.source.items.map((it) => it.label).filter(keep));
    const kept = Array.from({ length: whole.source.items.length }, (_, i) => i).filter(keep);
    kept.forEach((row, k) => {
      expect(skip.features.subarray(k * D, (k + 1) * D)).toEqual(
        whole.features.subarray(row * D, (row + 1) * D),
      );
    });
    const metadata = featuresFileMetadata(skip, { pipeline: "p", irHash: "h", entry: "test", backend: "b" });
    expect(JSON.parse(metadata["skipped"]!)).toEqual([
      expect.objectContaining({ path: broken.bad[0], reason: "corrupt" }),
      { path: broken.bad[1], reason: "missing", detail: "the file does not exist" },
    ]);
    expect(
      featuresFileMetadata(whole, { pipeline: "p", irHash: "h", entry: "test", backend: "b" }),
    ).not.toHaveProperty("skipped");
  });
});

describe("bad_images in training", () => {
  it("skip trains on the images that were read, exactly as on a world without the bad ones", async () => {
    const broken = breakWorld("broken-train", "train", [1, 4]);
    const clean = worldWithout("clean-train", "train", broken.positions);
    // Whole batches only (drop_last): one step graph serves every step.
    const train = "    optimizer = sgd(lr: 0.1)\n    epochs = 1\n    batch = 8\n    drop_last = true";
    const ueo = (name: string, root: string) => {
      const file = writeUeoSpec({ ...workspace, world: root }, name, train);
      writeFileSync(
        file,
        readFileSync(file, "utf8").replace("  data {\n", "  data {\n    bad_images = skip\n"),
      );
      return compileForRun(file);
    };
    const options = (hash: string) => ({
      specText: "",
      irHash: hash,
      runsRoot: join(workspace.dir, "runs"),
      backendInstance: backend,
    });
    const skipped = ueo("train_skip", broken.root);
    const without = ueo("train_clean", clean);
    const a = await runTraining(skipped.ir, options(skipped.hash));
    const b = await runTraining(without.ir, options(without.hash));
    expect(JSON.parse(readFileSync(join(a.dir, "summary.json"), "utf8")).extra.skipped_images).toBe(2);
    expect(JSON.parse(readFileSync(join(b.dir, "summary.json"), "utf8")).extra.skipped_images).toBe(0);
    expect(readFileSync(join(a.dir, "skipped-images.txt"), "utf8")).toContain(broken.bad[1]);
    expect([a.steps, b.steps]).toEqual([3, 3]);
    expect(a.losses).toEqual(b.losses);
    expect(a.after).toEqual(b.after);
  }, 180_000);
});
