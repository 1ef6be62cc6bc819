// A temp folder holding a tiny random CLIP (`vlmp model make-tiny`, seed 0) and a synthetic `ueo` world,
// made once before a test file's tests and removed after them; and pipelines compiled for `vlmp run`.

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect } from "vitest";
import { compileFile } from "../../compiler/compile.ts";
import type { PipelineIr } from "../../compiler/ir.ts";
import { makeTinyClip } from "../../runtime/checkpoint/make-tiny.ts";
import { makeWorld } from "../../runtime/data/synthetic/make.ts";

export interface TinyWorkspace {
  /** The temp folder. */
  readonly dir: string;
  /** The tiny CLIP's folder (`dir/tiny`). */
  readonly model: string;
  /** The `ueo` world's folder (`dir/ueo`). */
  readonly world: string;
}

/** Registers the hooks that make (before all tests) and remove (after) the workspace; call at top level. */
export function tinyWorkspace(prefix: string, world: { count: number; size: number }): TinyWorkspace {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const ws = { dir, model: join(dir, "tiny"), world: join(dir, "ueo") };
  beforeAll(async () => {
    makeTinyClip(ws.model, 0);
    await makeWorld("ueo", { out: ws.world, ...world, seed: 0 });
  });
  return ws;
}

/** Compiles a pipeline file for `vlmp run`, expecting no errors. */
export function compileForRun(file: string): { ir: PipelineIr; hash: string } {
  const result = compileFile(file, { mode: "run" });
  expect(result.diagnostics.filter((d) => d.severity === "error").map((d) => d.message)).toEqual([]);
  return { ir: result.ir!, hash: result.hash! };
}

/**
 * Writes a UEO training spec on the workspace's tiny CLIP and `ueo` world (the quickstart's shape), with
 * `train` as the train block's settings after its objective; returns the file's path.
 */
export function writeUeoSpec(ws: TinyWorkspace, name: string, train: string): string {
  const { dir, model, world } = ws;
  const file = join(dir, `${name}.vlmp`);
  writeFileSync(
    file,
    `use clip
use adapters.{prompt, affine}
use losses
use optim.{sgd, group, cosine, constant}
use data.{synthetic, synthetic_classes, flip, random_resized_crop}
use metrics.{per_class_accuracy, accuracy, auroc}

pipeline ${name} {
  backbone = clip.tiny(weights: ${JSON.stringify(model)})
  seed = 2023
  ueo {
    weights = zeroShotMSP
  }
  data {
    classes = synthetic_classes(world: ueo, root: ${JSON.stringify(world)}, part: known)
    train = synthetic(world: ueo, root: ${JSON.stringify(world)}, part: "train", shift: oda, labels: hidden)
    test = synthetic(world: ueo, root: ${JSON.stringify(world)}, part: "test")
  }
  adapt prompt(context: 4, init: "a photo of a", class_position: end)
  adapt affine(sites: visual.layernorms)
  constants {
    on = data.train
    weights = losses.ueo_weights(cosines, labels, mode: ueo.weights, temperature: ueo.weightTemperature)
  }
  train {
    objective = losses.ueo(logits, weights, lambda: ueo.lambda)
${train}
  }
  evaluate test {
    output = cosines
    batch = 32
    metrics = [per_class_accuracy(), accuracy(), auroc(score: msp, positive: known)]
  }
}
`,
  );
  return file;
}
