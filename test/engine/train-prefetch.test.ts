// Training prepares the next batch (decode, augmentation, feeds) while the current step runs. On the
// reference interpreter, with random crops and flips and an objective that reads the step counter, the
// losses and the checkpoint are bit-identical whether batches are prepared one at a time or two steps
// ahead; an unreadable image in a later batch (bad_images = fail) stops the run naming it, as before,
// with no unhandled promise rejection.

import { readFileSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { syntheticSource } from "../../runtime/data/sources/synthetic.ts";
import { referenceBackend } from "../../runtime/engine/backend.ts";
import { runTraining } from "../../runtime/engine/train.ts";
import { ImageDecodeError } from "../../runtime/image/errors.ts";
import { compileForRun, tinyWorkspace, writePipeline } from "../support/workspace.ts";

const workspace = tinyWorkspace("vlmp-prefetch-", { count: 30, size: 32 });
const backend = referenceBackend();

/**
 * Cross-entropy weighted by the step: a batch fed another step's counter changes the loss.
 */
const STEPPED_CE = `loss stepped_ce(logits: [N, C], labels: [N], step: number) {
  return -(1 + step) * mean(sum(one_hot(labels, classes: C) * log_softmax(logits, axis: 1), axis: 1))
}
`;

/** Prompt tuning over the world's 14 closed-set training images: 3 steps of 4 in file order. */
function spec(name: string): string {
  const root = JSON.stringify(workspace.world);
  const file = writePipeline(workspace, name, {
    uses: [
      "adapters.prompt",
      "losses",
      "optim.{sgd, cosine}",
      "data.{synthetic, synthetic_classes, flip, random_resized_crop}",
    ],
    seed: 7,
    body: `  data {
    classes = synthetic_classes(world: ueo, root: ${root}, part: known)
    train = synthetic(world: ueo, root: ${root}, part: "train", shift: cda)
  }
  adapt prompt(context: 2, init: "a photo")
  train {
    objective = stepped_ce(logits, labels, step)
    optimizer = sgd(lr: 0.05, momentum: 0.9)
    schedule = cosine(every: step)
    epochs = 1
    batch = 4
    drop_last = true
    shuffle = false
    augment = [random_resized_crop(size: 32, scale: [0.5, 1.0]), flip(p: 0.5)]
  }`,
  });
  writeFileSync(file, readFileSync(file, "utf8").replace("pipeline ", `${STEPPED_CE}\npipeline `));
  return file;
}

const options = (hash: string, lookahead: number) => ({
  specText: "",
  irHash: hash,
  runsRoot: join(workspace.dir, "runs"),
  backendInstance: backend,
  lookahead,
});

const lastCheckpoint = (dir: string) => readFileSync(join(dir, "checkpoints", "epoch-0001.safetensors"));

describe("batches prepared ahead of the step", () => {
  const unhandled: unknown[] = [];
  const record = (reason: unknown) => unhandled.push(reason);
  beforeEach(() => {
    unhandled.length = 0;
    process.on("unhandledRejection", record);
  });
  afterEach(() => {
    process.off("unhandledRejection", record);
  });

  it("give the losses and parameters of batches prepared one at a time", async () => {
    const { ir, hash } = compileForRun(spec("prefetch_same"));
    const serial = await runTraining(ir, options(hash, 0));
    const ahead = await runTraining(ir, options(hash, 2));
    expect(serial.steps).toBe(3);
    expect(new Set(serial.losses).size).toBe(3);
    expect(ahead.losses).toEqual(serial.losses);
    expect(lastCheckpoint(ahead.dir).equals(lastCheckpoint(serial.dir))).toBe(true);
    expect(unhandled).toEqual([]);
  }, 120_000);

  it("stop at an unreadable image of a later batch, naming it, with nothing unhandled", async () => {
    const { ir, hash } = compileForRun(spec("prefetch_bad"));
    const train = syntheticSource({ world: "ueo", root: workspace.world, part: "train", shift: "cda" });
    // The third batch's first image (file order); prepared two ahead, it fails before anything awaits it.
    const bad = train.items[8]!.path;
    truncateSync(bad, 40);
    const error = await runTraining(ir, options(hash, 2)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ImageDecodeError);
    expect((error as ImageDecodeError).path).toBe(bad);
    expect((error as Error).message).toContain("cannot decode image");
    // Let any batch left in flight settle before looking for unhandled rejections.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(unhandled).toEqual([]);
  }, 120_000);
});
