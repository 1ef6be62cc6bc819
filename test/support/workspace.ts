// A temp folder holding a tiny random CLIP (`vlmp model make-tiny`, seed 0) and a synthetic world (`ueo`
// unless named), made once before a test file's tests (or at once, with an empty world folder) and removed
// after them; pipeline files on that CLIP; and pipelines compiled for `vlmp run`.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect } from "vitest";
import { compileFile } from "../../compiler/compile.ts";
import type { PipelineIr } from "../../compiler/ir.ts";
import { makeTinyClip } from "../../runtime/checkpoint/make-tiny.ts";
import { makeWorld } from "../../runtime/data/synthetic/make.ts";
import type { WorldName } from "../../runtime/data/synthetic/plan.ts";

export interface TinyWorkspace {
  /** The temp folder. */
  readonly dir: string;
  /** The tiny CLIP's folder (`dir/tiny`). */
  readonly model: string;
  /** The world's folder (`dir/ueo`, or `dir/` and the world's name). */
  readonly world: string;
}

/** The temp folder and its paths, removed after all tests. */
function workspaceFolder(prefix: string, world: WorldName): TinyWorkspace {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return { dir, model: join(dir, "tiny"), world: join(dir, world) };
}

/**
 * Registers the hooks that make (before all tests) and remove (after) the workspace, with `count` images
 * of `world.name` (default `ueo`); call at top level.
 */
export function tinyWorkspace(
  prefix: string,
  world: { name?: WorldName; count: number; size: number },
): TinyWorkspace {
  const { name = "ueo", ...options } = world;
  const ws = workspaceFolder(prefix, name);
  beforeAll(async () => {
    makeTinyClip(ws.model, 0);
    await makeWorld(name, { out: ws.world, ...options, seed: 0 });
  });
  return ws;
}

/**
 * The workspace made at once (for tests that build graphs while they are collected), its world folder
 * empty: a data block only has to name one where nothing reads the data. Removed after all tests.
 */
export function tinyModelWorkspace(prefix: string, world: WorldName): TinyWorkspace {
  const ws = workspaceFolder(prefix, world);
  makeTinyClip(ws.model, 0);
  mkdirSync(ws.world);
  return ws;
}

/**
 * Writes `dir/NAME.vlmp`: `use clip`, a `use` line for each of `uses`, and pipeline NAME on the
 * workspace's tiny CLIP with `seed` and then `body` (its lines indented by the caller); returns the path.
 */
export function writePipeline(
  ws: Pick<TinyWorkspace, "dir" | "model">,
  name: string,
  pipeline: { uses: readonly string[]; seed: number; body: string },
): string {
  const file = join(ws.dir, `${name}.vlmp`);
  writeFileSync(
    file,
    `use clip
${pipeline.uses.map((u) => `use ${u}\n`).join("")}
pipeline ${name} {
  backbone = clip.tiny(weights: ${JSON.stringify(ws.model)})
  seed = ${pipeline.seed}
${pipeline.body}
}
`,
  );
  return file;
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
  const world = JSON.stringify(ws.world);
  return writePipeline(ws, name, {
    uses: [
      "adapters.{prompt, affine}",
      "losses",
      "optim.{sgd, group, cosine, constant}",
      "data.{synthetic, synthetic_classes, flip, random_resized_crop}",
      "metrics.{per_class_accuracy, accuracy, auroc}",
    ],
    seed: 2023,
    body: `  ueo {
    weights = zeroShotMSP
  }
  data {
    classes = synthetic_classes(world: ueo, root: ${world}, part: known)
    train = synthetic(world: ueo, root: ${world}, part: "train", shift: oda, labels: hidden)
    test = synthetic(world: ueo, root: ${world}, part: "test")
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
  }`,
  });
}
