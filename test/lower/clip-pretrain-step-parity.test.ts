// Parity: one contrastive pre-training step on the tiny checkpoint (`vlmp model make-tiny`, seed 0) for a
// fixed batch (4 images, each with its own caption), built as `vlmp run` builds it (runtime/engine/train.ts
// buildStepGraph with `captions: true`: C = N, one prompt per caption; `adapt full()` → every parameter
// trainable; losses.clip_pairs(caption_logits) → gradients()) and run in the reference interpreter, against
// PyTorch in float64 (bench/ref/clip_pretrain_step_reference.py, clip_reference.py's forward): the loss and
// the gradients of the temperature, both projections, the text embeddings (the token embedding's rows of
// the captions' tokens), one attention and LayerNorm per tower and the vision embeddings at 1e-4 relative
// (float64 on both sides: ~1e-14 in practice). Where torch is importable by /usr/bin/python3 the script
// is rerun into a temp folder and must reproduce the committed fixture.

import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { objectiveBlocks } from "../../compiler/lower/objective.ts";
import { makeTinyClip } from "../../runtime/checkpoint/make-tiny.ts";
import { loadBackbone, paramFeeds } from "../../runtime/engine/model.ts";
import { captionPrompts } from "../../runtime/engine/prompts.ts";
import { buildStepGraph, modelParams } from "../../runtime/engine/train.ts";
import { evaluate } from "../../runtime/reference/interpreter.ts";
import type { Tensor } from "../../runtime/reference/tensor.ts";
import { expectClose, rng } from "../graph/helpers.ts";
import { compileForRun } from "../support/workspace.ts";
import { checksum, writeTensors } from "./clip-weights.ts";

// Captions as the `captions` world writes them; they share words, so token-embedding rows get
// contributions from several rows and both sides of the loss.
const CAPTIONS = [
  "a sketch of a small red star on stripes",
  "a photo of a large blue circle on a plain background",
  "an outline of a green square on dots",
  "a small yellow star on a red background",
];
const N = CAPTIONS.length;
const TOLERANCE = 1e-4;
const TOKENS = "text_model.embeddings.token_embedding.weight";
const FIXTURE = join("test", "fixtures", "lower", "clip_pretrain_step_reference.json");
const SCRIPT = join("bench", "ref", "clip_pretrain_step_reference.py");

interface Dumped {
  shape: number[];
  data: number[];
}
interface Fixture {
  torch: string;
  checksum: [number, number];
  ids: Dumped;
  tokens: number[];
  loss: number;
  grads: Record<string, Dumped>;
}

const dir = mkdtempSync(join(tmpdir(), "vlmp-pretrain-step-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const model = join(dir, "tiny");
makeTinyClip(model, 0);
// The data block only has to name a folder: the step reads no data (the batch is fixed below).
const world = join(dir, "captions");
mkdirSync(world);
const specFile = join(dir, "step.vlmp");
writeFileSync(
  specFile,
  `use clip
use adapters.full
use losses
use optim.{sgd}
use data.{synthetic, synthetic_classes}

pipeline pretrain_step {
  backbone = clip.tiny(weights: ${JSON.stringify(model)})
  seed = 0
  data {
    classes = synthetic_classes(world: captions, root: ${JSON.stringify(world)}, part: all)
    train = synthetic(world: captions, root: ${JSON.stringify(world)}, part: "train")
  }
  adapt full()
  train {
    objective = losses.clip_pairs(caption_logits)
    optimizer = sgd(lr: 0.01)
    epochs = 1
    batch = ${N}
  }
}
`,
);

/** The vlmp step: loss and gradients by trainable key; and every input the reference needs. */
function vlmpStep() {
  const { ir } = compileForRun(specFile);
  const backbone = loadBackbone(ir);
  const adapters = ir.root.adapters;
  const params = modelParams(ir, backbone, adapters, 0);
  const step = buildStepGraph(
    ir,
    backbone,
    adapters,
    objectiveBlocks(ir)[0]!,
    // `classes` and `prompts` are the class prompts' sizes, which captions replace (C = N, P = 1).
    { batch: N, classes: 7, prompts: 3, captions: true },
    params.trainable,
  );
  const cache = new Map(params.values);
  const text = captionPrompts(backbone.checkpoint.tokenizer, CAPTIONS, { padId: backbone.padId });
  const r = rng(8);
  const pixels: Tensor = {
    shape: [N, 3, 32, 32],
    data: Float64Array.from({ length: N * 3 * 32 * 32 }, () => 4 * r() - 2),
  };
  const feeds = paramFeeds(step.graph, backbone.checkpoint, cache);
  feeds.set(step.pixels, pixels);
  feeds.set(step.ids, text.ids);
  feeds.set(step.slots, text.slots);
  const t0 = performance.now();
  const values = evaluate(step.graph, feeds);
  const seconds = (performance.now() - t0) / 1000;
  const grads = new Map([...step.grads].map(([k, id]) => [k, values.get(id)!.data] as const));

  const weights = new Map<string, Tensor>();
  for (const p of params.all) {
    weights.set(p.key, {
      shape: [...p.shape],
      data: Float64Array.from(backbone.checkpoint.weights.read(p.key)),
    });
  }
  const context = text.ids.shape[text.ids.shape.length - 1]!;
  const ids: Tensor = { shape: [N, context], data: text.ids.data };
  const inputs = new Map<string, Tensor>([
    ["pixels", pixels],
    ["ids", ids],
  ]);
  return {
    loss: values.get(step.loss)!.data[0]!,
    grads,
    ids,
    keys: params.all.map((p) => p.key),
    trainable: params.trainable,
    weights,
    inputs,
    seconds,
  };
}

const probe = spawnSync("/usr/bin/python3", ["-c", "import torch, numpy"], { encoding: "utf8" });
const torchReason = probe.error
  ? `/usr/bin/python3 not runnable (${probe.error.message})`
  : probe.status !== 0
    ? "torch or numpy is not importable by /usr/bin/python3"
    : "";
if (torchReason) console.warn(`skipping the pre-training step reference rerun: ${torchReason}`);

/** Writes the inputs for the script and runs it, writing its JSON to `out`. */
function runReference(weights: Map<string, Tensor>, inputs: Map<string, Tensor>, out: string): void {
  const config = JSON.parse(readFileSync(join(model, "config.json"), "utf8"));
  const v = config.vision_config;
  const t = config.text_config;
  const refDir = mkdtempSync(join(tmpdir(), "vlmp-pretrain-step-ref-"));
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
      },
      new Map([...weights, ...inputs]),
    );
    const run = spawnSync("/usr/bin/python3", [SCRIPT, refDir, out], { encoding: "utf8" });
    if (run.status !== 0) throw new Error(`clip_pretrain_step_reference.py failed: ${run.stderr}`);
  } finally {
    rmSync(refDir, { recursive: true, force: true });
  }
}

/** max |a − b| and that over max |b|. */
function errors(a: ArrayLike<number>, b: ArrayLike<number>): { abs: number; rel: number } {
  let abs = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    abs = Math.max(abs, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return { abs, rel: abs / scale };
}

/** The rows `tokens` of a [vocab, width] table. */
function rows(table: Float64Array, tokens: readonly number[], width: number): Float64Array {
  const out = new Float64Array(tokens.length * width);
  tokens.forEach((t, i) => {
    out.set(table.subarray(t * width, (t + 1) * width), i * width);
  });
  return out;
}

describe("one contrastive pre-training step on the tiny checkpoint against PyTorch (float64)", () => {
  const vlmp = vlmpStep();
  if (!existsSync(FIXTURE) && !torchReason) runReference(vlmp.weights, vlmp.inputs, FIXTURE);
  const fixture = JSON.parse(readFileSync(FIXTURE, "utf8")) as Fixture;

  it("uses the committed checkpoint and tokenises the captions as the fixture's ids", () => {
    const [s, q] = checksum(vlmp.weights);
    expect(s).toBeCloseTo(fixture.checksum[0], 6);
    expect(q).toBeCloseTo(fixture.checksum[1], 6);
    expect(fixture.ids.shape).toEqual(vlmp.ids.shape);
    expectClose(vlmp.ids.data, fixture.ids.data, 0);
  });

  it("differentiates every parameter of the backbone (adapters.full)", () => {
    expect([...vlmp.trainable].sort()).toEqual([...vlmp.keys].sort());
    expect([...vlmp.grads.keys()].sort()).toEqual([...vlmp.keys].sort());
    for (const key of Object.keys(fixture.grads)) expect(vlmp.grads.has(key)).toBe(true);
  });

  it("gives the token embedding a gradient only in the captions' rows", () => {
    const table = vlmp.grads.get(TOKENS)!;
    const width = fixture.grads[TOKENS]!.shape[1]!;
    const used = new Set(fixture.tokens);
    let outside = 0;
    for (let t = 0; t < table.length / width; t++) {
      if (used.has(t)) continue;
      for (let j = 0; j < width; j++) outside = Math.max(outside, Math.abs(table[t * width + j]!));
    }
    expect(outside).toBe(0);
  });

  it(`matches the loss and the gradients at ${TOLERANCE} relative`, () => {
    const lossErr = Math.abs(vlmp.loss - fixture.loss) / Math.abs(fixture.loss);
    const lines = [`loss ${fixture.loss.toPrecision(12)}: relative error ${lossErr.toExponential(2)}`];
    let worst = { key: "", abs: 0, rel: 0 };
    for (const [key, want] of Object.entries(fixture.grads)) {
      let got = vlmp.grads.get(key)!;
      if (key === TOKENS) got = rows(got, fixture.tokens, want.shape[1]!);
      expect(got.length).toBe(want.data.length);
      const e = errors(got, want.data);
      lines.push(`${key}: max |Δ| ${e.abs.toExponential(2)}, relative ${e.rel.toExponential(2)}`);
      if (e.rel >= worst.rel) worst = { key, ...e };
      expect(Math.max(...want.data.map(Math.abs))).toBeGreaterThan(0);
      expect(e.rel).toBeLessThan(TOLERANCE);
    }
    lines.push(`worst gradient: ${worst.key} (relative ${worst.rel.toExponential(2)})`);
    lines.push(`step graph evaluated in ${vlmp.seconds.toFixed(2)} s (torch ${fixture.torch})`);
    console.log(lines.join("\n"));
    expect(lossErr).toBeLessThan(TOLERANCE);
  });

  it.skipIf(torchReason !== "")("the reference script reproduces the committed fixture", () => {
    const out = join(dir, "rerun.json");
    runReference(vlmp.weights, vlmp.inputs, out);
    const again = JSON.parse(readFileSync(out, "utf8")) as Fixture;
    expect(again.checksum[0]).toBeCloseTo(fixture.checksum[0], 9);
    expect(again.loss).toBeCloseTo(fixture.loss, 12);
    expect(again.tokens).toEqual(fixture.tokens);
    expectClose(again.ids.data, fixture.ids.data, 0);
    expect(Object.keys(again.grads).sort()).toEqual(Object.keys(fixture.grads).sort());
    for (const [key, t] of Object.entries(fixture.grads)) {
      expect(again.grads[key]!.shape).toEqual(t.shape);
      expectClose(again.grads[key]!.data, t.data, 1e-12 * Math.max(...t.data.map(Math.abs)));
    }
  });
});
