// Parity of one training step against PyTorch (bench/ref/*_step_reference.py, in float64): the step built
// as `vlmp run` builds it (runtime/engine/train.ts buildStepGraph) on a pipeline over the tiny checkpoint,
// run in the reference interpreter on a fixed batch; the reference script run on the same weights and
// inputs; and the checks the step parity tests share (checksum, loss and gradients, a rerun of the script).

import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { expect } from "vitest";
import { objectiveBlocks } from "../../compiler/lower/objective.ts";
import type { JsonValue } from "../../compiler/values.ts";
import { type Backbone, evaluationFeeds, loadBackbone } from "../../runtime/engine/model.ts";
import type { PromptTensors } from "../../runtime/engine/prompts.ts";
import { buildStepGraph, type ModelParams, modelParams } from "../../runtime/engine/train.ts";
import { evaluate } from "../../runtime/reference/interpreter.ts";
import { type Tensor, widened } from "../../runtime/reference/tensor.ts";
import { rng } from "../graph/helpers.ts";
import { checksum, writeTensors } from "../lower/clip-weights.ts";
import { type Dumped, errors, expectSameTensors, torchUnavailable } from "./torch-fixture.ts";
import { compileForRun, type TinyWorkspace } from "./workspace.ts";

/** What every step fixture holds. */
export interface StepFixture {
  torch: string;
  checksum: [number, number];
  loss: number;
  grads: Record<string, Dumped>;
}

export interface VlmpStep {
  loss: number;
  /** The gradients by trainable key. */
  grads: Map<string, Float64Array>;
  params: ModelParams;
  /** The backbone's weights from the checkpoint by key (the reference's weights; no adapter's). */
  weights: Map<string, Tensor>;
  /** The batch's images: [batch, 3, 32, 32] uniform in [−2, 2) (rng(8)). */
  pixels: Tensor;
  /** The prompts fed as `ids` and `slots`. */
  text: PromptTensors;
  /** How long the step graph took in the interpreter. */
  seconds: number;
}

/**
 * Builds the step of `specFile`'s first objective for `sizes` (parameters initialised with `seed`) and
 * evaluates it on fixed pixels, the prompts `text` gives, and `inputs` (step inputs by name).
 */
export function vlmpStep(
  specFile: string,
  options: {
    seed: number;
    sizes: Parameters<typeof buildStepGraph>[4];
    text: (backbone: Backbone, adapters: readonly JsonValue[]) => PromptTensors;
    inputs?: Record<string, Tensor>;
  },
): VlmpStep {
  const { ir } = compileForRun(specFile);
  const backbone = loadBackbone(ir);
  const adapters = ir.root.adapters;
  const params = modelParams(ir, backbone, adapters, options.seed);
  const step = buildStepGraph(
    ir,
    backbone,
    adapters,
    objectiveBlocks(ir)[0]!,
    options.sizes,
    params.trainable,
  );
  const cache = new Map(params.values);
  const text = options.text(backbone, adapters);
  const n = options.sizes.batch;
  const r = rng(8);
  const pixels: Tensor = {
    shape: [n, 3, 32, 32],
    data: Float64Array.from({ length: n * 3 * 32 * 32 }, () => 4 * r() - 2),
  };
  // The params as `vlmp run` feeds them (the checkpoint's at f32), widened as the reference backend does.
  const feeds = new Map(
    [...evaluationFeeds(step.graph, backbone.checkpoint, cache)].map(([id, f]) => [id, widened(f)] as const),
  );
  feeds.set(step.pixels, pixels);
  feeds.set(step.ids, text.ids);
  feeds.set(step.slots, text.slots);
  for (const [name, t] of Object.entries(options.inputs ?? {})) feeds.set(step.inputs.get(name)!.id, t);
  const t0 = performance.now();
  const values = evaluate(step.graph, feeds);
  const seconds = (performance.now() - t0) / 1000;
  const grads = new Map([...step.grads].map(([k, id]) => [k, values.get(id)!.data] as const));

  // The reference's inputs: every backbone weight from the checkpoint (the adapters' come from the ids).
  const weights = new Map<string, Tensor>();
  for (const p of params.all) {
    if (p.key.startsWith("adapters.")) continue;
    weights.set(p.key, {
      shape: [...p.shape],
      data: Float64Array.from(backbone.checkpoint.weights.read(p.key)),
    });
  }
  return { loss: values.get(step.loss)!.data[0]!, grads, params, weights, pixels, text, seconds };
}

/** The [rows, context] matrix of prompt tensor `t` ([rows, prompts, context]) as the scripts read it. */
export function promptRows(t: Tensor, rows: number): Tensor {
  return { shape: [rows, t.shape[t.shape.length - 1]!], data: t.data };
}

/** The train block of a one-step pipeline: `objective`, plain SGD, one epoch of batches of `batch`. */
export function oneStepTrain(objective: string, batch: number): string {
  return `  train {
    objective = ${objective}
    optimizer = sgd(lr: 0.01)
    epochs = 1
    batch = ${batch}
  }`;
}

export interface StepReference {
  /** Why the script cannot run here ("" where it can). */
  readonly reason: string;
  /** The committed fixture at `file`; where it is missing (and the script can run), the script writes it. */
  fixture<F>(file: string): F;
  /** The script's output rerun into a temp file. */
  rerun<F>(): F;
}

/**
 * The reference script `script` on the weights and inputs `tensors` (with the tiny CLIP's configuration
 * at `ws.model` and `extra`), rerun into `ws.dir`; `what` names the rerun in the warning where torch is
 * not importable.
 */
export function stepReference(
  script: string,
  ws: Pick<TinyWorkspace, "dir" | "model">,
  options: { what: string; extra?: Record<string, number>; tensors: ReadonlyMap<string, Tensor> },
): StepReference {
  const reason = torchUnavailable(options.what);
  // Writes the tensors and the configuration into a temp folder and runs the script, writing its JSON to `out`.
  const run = (out: string): void => {
    const config = JSON.parse(readFileSync(join(ws.model, "config.json"), "utf8"));
    const v = config.vision_config;
    const t = config.text_config;
    const refDir = mkdtempSync(join(tmpdir(), "vlmp-step-ref-"));
    try {
      writeTensors(
        refDir,
        {
          image: v.image_size,
          patch: v.patch_size,
          layers: v.num_hidden_layers,
          heads: v.num_attention_heads,
          text_layers: t.num_hidden_layers,
          text_heads: t.num_attention_heads,
          eot: t.eos_token_id,
          eps: v.layer_norm_eps,
          ...options.extra,
        },
        options.tensors,
      );
      const result = spawnSync("/usr/bin/python3", [script, refDir, out], { encoding: "utf8" });
      if (result.status !== 0) throw new Error(`${basename(script)} failed: ${result.stderr}`);
    } finally {
      rmSync(refDir, { recursive: true, force: true });
    }
  };
  return {
    reason,
    fixture<F>(file: string): F {
      if (!existsSync(file) && !reason) run(file);
      return JSON.parse(readFileSync(file, "utf8")) as F;
    },
    rerun<F>(): F {
      const out = join(ws.dir, "rerun.json");
      run(out);
      return JSON.parse(readFileSync(out, "utf8")) as F;
    },
  };
}

/** The weights' checksum is the fixture's: the generator still makes the committed checkpoint. */
export function expectChecksum(weights: ReadonlyMap<string, Tensor>, fixture: StepFixture): void {
  const [s, q] = checksum(weights);
  expect(s).toBeCloseTo(fixture.checksum[0], 6);
  expect(q).toBeCloseTo(fixture.checksum[1], 6);
}

/**
 * The loss and every gradient of the fixture (`gradient` maps vlmp's to the fixture's rows) agree at
 * `tolerance` relative, each gradient nonzero in the fixture; logs each error and the step's time.
 */
export function expectStepMatches(
  vlmp: VlmpStep,
  fixture: StepFixture,
  tolerance: number,
  gradient: (key: string, got: Float64Array, want: Dumped) => ArrayLike<number> = (_, got) => got,
): void {
  const lossErr = Math.abs(vlmp.loss - fixture.loss) / Math.abs(fixture.loss);
  const lines = [`loss ${fixture.loss.toPrecision(12)}: relative error ${lossErr.toExponential(2)}`];
  let worst = { key: "", abs: 0, rel: 0 };
  for (const [key, want] of Object.entries(fixture.grads)) {
    const got = gradient(key, vlmp.grads.get(key)!, want);
    expect(got.length).toBe(want.data.length);
    const e = errors(got, want.data);
    lines.push(`${key}: max |Δ| ${e.abs.toExponential(2)}, relative ${e.rel.toExponential(2)}`);
    if (e.rel >= worst.rel) worst = { key, ...e };
    expect(Math.max(...want.data.map(Math.abs))).toBeGreaterThan(0);
    expect(e.rel).toBeLessThan(tolerance);
  }
  lines.push(`worst gradient: ${worst.key} (relative ${worst.rel.toExponential(2)})`);
  lines.push(`step graph evaluated in ${vlmp.seconds.toFixed(2)} s (torch ${fixture.torch})`);
  console.log(lines.join("\n"));
  expect(lossErr).toBeLessThan(tolerance);
}

/** A rerun of the script gives the committed checksum, loss (float64 to 12 places) and gradients. */
export function expectSameStep(again: StepFixture, fixture: StepFixture): void {
  expect(again.checksum[0]).toBeCloseTo(fixture.checksum[0], 9);
  expect(again.loss).toBeCloseTo(fixture.loss, 12);
  expectSameTensors(again.grads, fixture.grads);
}
