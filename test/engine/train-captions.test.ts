// `vlmp run` on a contrastive pre-training pipeline (caption sites, losses.clip_pairs, adapters.full) with a
// tiny random CLIP on the reference interpreter: an objective reading caption sites needs a captioned
// source (a csv manifest names its caption column) and cannot also read the class-prompt sites (a step has one text side); two steps on a small
// `captions` world give finite losses and move the learned temperature.

import { readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { LOGIT_SCALE } from "../../runtime/checkpoint/make-tiny.ts";
import { referenceBackend } from "../../runtime/engine/backend.ts";
import { readCheckpoint } from "../../runtime/engine/checkpoint.ts";
import { RunError } from "../../runtime/engine/errors.ts";
import { runTraining } from "../../runtime/engine/train.ts";
import { compileForRun, tinyWorkspace, writePipeline } from "../support/workspace.ts";

// A tiny random CLIP and a `captions` world of 9 images: 8 train (two batches of 4) and 1 val.
const workspace = tinyWorkspace("vlmp-train-captions-", { name: "captions", count: 9, size: 32 });
const { dir, world } = workspace;

const backend = referenceBackend();

// The world's train split as the synthetic source (captioned) and through its manifest without naming the
// caption column (no captions).
const root = JSON.stringify(world);
const manifest = join(world, "manifest.csv");
const SOURCES = {
  captioned: `synthetic(world: captions, root: ${root}, part: "train")`,
  uncaptioned: `csv(file: ${JSON.stringify(manifest)}, keep: "train")`,
};

/** A pre-training spec with `train` from `source` and `objective`. */
function spec(name: string, source: keyof typeof SOURCES, objective: string): string {
  return writePipeline(workspace, name, {
    uses: ["adapters.full", "losses", "optim.{sgd, constant}", "data.{synthetic, synthetic_classes, csv}"],
    seed: 0,
    body: `  data {
    classes = synthetic_classes(world: captions, root: ${root}, part: all)
    train = ${SOURCES[source]}
  }
  adapt full()
  train {
    objective = ${objective}
    optimizer = sgd(lr: 0.05)
    schedule = constant()
    epochs = 1
    batch = 4
    drop_last = true
    shuffle = false
  }`,
  });
}

async function train(file: string) {
  const { ir, hash } = compileForRun(file);
  return runTraining(ir, {
    specText: "",
    irHash: hash,
    runsRoot: join(dir, "runs"),
    backendInstance: backend,
  });
}

describe("training on captions (reference interpreter)", () => {
  it("names the source without captions and asks for a captioned one", async () => {
    const run = train(spec("uncaptioned", "uncaptioned", "losses.clip_pairs(caption_logits)"));
    await expect(run).rejects.toThrow(RunError);
    await expect(run).rejects.toThrow(`csv(${JSON.stringify(manifest)}, keep: "train") has no caption`);
    await expect(run).rejects.toThrow(/use a captioned source/);
  });

  it("rejects an objective that reads class-prompt logits beside caption logits", async () => {
    const run = train(
      spec("both", "captioned", "losses.clip_pairs(caption_logits) + losses.entropy_min(logits)"),
    );
    await expect(run).rejects.toThrow(RunError);
    await expect(run).rejects.toThrow(/reads 'logits' \(class prompts\) beside caption sites/);
  });

  it("takes two steps with finite losses and learns the temperature", async () => {
    const r = await train(spec("pairs", "captioned", "losses.clip_pairs(caption_logits)"));
    expect(r.steps).toBe(2);
    expect(r.losses).toHaveLength(2);
    for (const loss of r.losses) expect(Number.isFinite(loss)).toBe(true);
    // The tiny checkpoint's logit_scale is ln 100; adapters.full() makes it trainable.
    const last = readdirSync(join(r.dir, "checkpoints")).sort().at(-1)!;
    const scale = readCheckpoint(join(r.dir, "checkpoints", last)).params.get("logit_scale");
    expect(scale).toBeDefined();
    expect(Math.abs(scale![0]! - LOGIT_SCALE)).toBeGreaterThan(1e-9);
  });
});
