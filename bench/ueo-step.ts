// Issue 8: training throughput of the UEO step on ViT-B/16 shapes (batch 32, random weights) on the device
// trainer, against the PyTorch reference of the same step on the same CPU, in one run, as a ratio (goal
// ≥ 0.1×).
//
// The model: a random CLIP checkpoint in the real HF layout and ViT-B/16 shapes (`vlmp model make-tiny`'s
// generator with B/16 sizes: config.json, model.safetensors, the real tokenizer), written to a temp folder
// and loaded by `vlmp run`'s loader. The step: a UEO pipeline like the quickstart's on that checkpoint
// (`prompt(context: 4, init: "a photo of a")` + `affine(sites: visual.layernorms)`, `losses.ueo(logits,
// weights)`, `sgd(lr: 0.01)`), built by runtime/engine/train.ts buildStepGraph as `vlmp run` builds it: the
// image tower on 32 images, the text tower on the C class prompts (default 10 classes, 77 tokens each), the
// loss, the gradients of the context (through the text tower) and of every visual LayerNorm. vlmp runs it
// with the device trainer (runtime/executor/trainer.ts: parameters resident, one command buffer per step,
// in-place SGD kernels; frozen weights uploaded once at creation, the batch as feeds each step, as `vlmp run`
// does);
// PyTorch (bench/ref/ueo_step_bench_reference.py, f32, every core) runs forward + backward + SGD on the same
// checkpoint and inputs. Each side: one warm-up step (shader compiles, first-run work) not timed, then
// VLMP_BENCH_UEO_REPS timed steps (default 1, the median is reported). The warm-up steps' losses (before any
// update) are compared as a check that both sides ran the same step.
//
// On lavapipe with 2 cores a full-depth step takes many minutes, so `npm run bench` runs ONE encoder layer
// per tower by default and says so in its header. VLMP_BENCH_UEO_LAYERS=12 runs the real depth (both towers
// 12 layers: ViT-B/16 itself); VLMP_BENCH_UEO_CLASSES sets C.

import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { compileFile } from "../compiler/compile.ts";
import type { ValueId } from "../compiler/graph/graph.ts";
import { objectiveBlocks } from "../compiler/lower/objective.ts";
import { type ClipDims, makeTinyClip, seededUniform } from "../runtime/checkpoint/make-tiny.ts";
import { acquireDevice, type Device } from "../runtime/device/device.ts";
import { promptTensors } from "../runtime/engine/evaluate.ts";
import { evaluationFeeds, loadBackbone } from "../runtime/engine/model.ts";
import { buildStepGraph, modelParams } from "../runtime/engine/train.ts";
import { autotune } from "../runtime/executor/autotune.ts";
import { createTrainer } from "../runtime/executor/trainer.ts";
import type { Tensor } from "../runtime/reference/tensor.ts";

const BATCH = 32;
const CONTEXT = 4;
const LAMBDA = 1;
const LR = 0.01;
const SEED = 8;
const PYTHON = "/usr/bin/python3";

function dims(layers: number): ClipDims {
  return {
    imageSize: 224,
    patchSize: 16,
    visionWidth: 768,
    visionLayers: layers,
    visionHeads: 12,
    textWidth: 512,
    textLayers: layers,
    textHeads: 8,
    projectionDim: 512,
    maxPositions: 77,
    vocabSize: 49408,
  };
}

/** The pipeline: clip.vit_b16 at full depth, else the same model with `layers` per tower. */
function pipelineText(model: string, world: string, layers: number): string {
  const shallow = layers !== 12;
  const root = JSON.stringify(world);
  return `use clip
use adapters.{prompt, affine}
use losses
use optim.{sgd}
use data.{synthetic, synthetic_classes}
${
  shallow
    ? `
model vit_b16_shallow(weights: path, pad: int = 0) {
  sub clip = clip.clip_model(
    image: 224,
    patch: 16,
    width: 768,
    layers: ${layers},
    heads: 12,
    text_width: 512,
    text_layers: ${layers},
    text_heads: 8,
    embed: 512,
    pad: pad,
  ) from ""
  site visual = clip.visual
  site text = clip.text
  site visual_proj = clip.visual_proj
  site text_proj = clip.text_proj
  site temperature = clip.temperature
  site image_features = clip.image_features
  site template_features = clip.template_features
  site text_features = clip.text_features
  site cosines = clip.cosines
  site logits = clip.logits
  forward(pixels: [B, 3, 224, 224], ids: [C, P, 77], slots: [C, P, 77]) -> [B, C] {
    return clip(pixels, ids, slots)
  }
}
`
    : ""
}
pipeline ueo_bench {
  backbone = ${shallow ? "vit_b16_shallow" : "clip.vit_b16"}(weights: ${JSON.stringify(model)})
  seed = 2023
  ueo {
    weights = zeroShotMSP
    lambda = ${LAMBDA}
  }
  data {
    classes = synthetic_classes(world: ueo, root: ${root}, part: known)
    train = synthetic(world: ueo, root: ${root}, part: "train", shift: oda, labels: hidden)
  }
  adapt prompt(context: ${CONTEXT}, init: "a photo of a", class_position: end)
  adapt affine(sites: visual.layernorms)
  constants {
    on = data.train
    weights = losses.ueo_weights(cosines, labels, mode: ueo.weights, temperature: ueo.weightTemperature)
  }
  train {
    objective = losses.ueo(logits, weights, lambda: ueo.lambda)
    optimizer = sgd(lr: ${LR})
    epochs = 1
    batch = ${BATCH}
  }
}
`;
}

/** Seeded uniforms in [lo, hi), rounded to f32 so that both sides read the same numbers. */
function uniforms(stream: string, size: number, lo: number, hi: number): Float32Array {
  const u = seededUniform(SEED, stream);
  return Float32Array.from({ length: size }, () => lo + (hi - lo) * u());
}

interface TorchResult {
  torch: string;
  threads: number;
  seconds: number[];
  loss: number;
}

/** Why the PyTorch side cannot run here ("" where it can). */
function torchMissing(): string {
  const r = spawnSync(PYTHON, ["-c", "import torch, numpy"], { encoding: "utf8" });
  if (r.error) return `${PYTHON} not found`;
  return r.status === 0 ? "" : `torch is not importable by ${PYTHON}`;
}

function runTorch(dir: string, reps: number): TorchResult | string {
  const script = fileURLToPath(new URL("./ref/ueo_step_bench_reference.py", import.meta.url));
  const r = spawnSync(PYTHON, [script, dir, String(reps)], { encoding: "utf8", timeout: 3_600_000 });
  if (r.status !== 0)
    return `PyTorch reference failed: ${(r.stderr || r.error?.message || "").trim().split("\n").at(-1)}`;
  return JSON.parse(r.stdout) as TorchResult;
}

const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export interface UeoBenchRow {
  readonly layers: number;
  readonly classes: number;
  readonly vlmpImagesPerS: number;
  readonly torchImagesPerS: number | undefined;
  readonly vlmpLoss: number;
  readonly torchLoss: number | undefined;
}

export async function benchUeoStep(
  log: (line: string) => void = console.log,
): Promise<UeoBenchRow | undefined> {
  const layers = Number(process.env["VLMP_BENCH_UEO_LAYERS"] ?? 1);
  const reps = Math.max(1, Number(process.env["VLMP_BENCH_UEO_REPS"] ?? 1));
  const classes = Number(process.env["VLMP_BENCH_UEO_CLASSES"] ?? 10);
  if (!Number.isInteger(layers) || layers < 1 || layers > 12)
    throw new Error(`VLMP_BENCH_UEO_LAYERS must be 1..12, got ${layers}`);
  if (!Number.isInteger(classes) || classes < 2)
    throw new Error(`VLMP_BENCH_UEO_CLASSES must be an integer ≥ 2, got ${classes}`);
  let device: Device;
  try {
    device = await acquireDevice();
  } catch (e) {
    log(`ueo: skipped (${(e as Error).message})`);
    return undefined;
  }
  const dir = mkdtempSync(join(tmpdir(), "vlmp-bench-ueo-"));
  try {
    const tuned = await autotune(device);
    const adapter = `${device.info.description || device.info.device}`;
    const depth =
      layers === 12 ? "12 layers per tower (full)" : `${layers} of 12 layers per tower (NOT the full model)`;
    log(
      `ueo step (ViT-B/16 shapes, batch ${BATCH}, ${classes} classes × ${CONTEXT}-token learned context, ` +
        `affine visual LayerNorms, SGD), random weights, ${depth}, on ${adapter}:`,
    );

    // The random checkpoint (HF layout, f32) and the pipeline on it.
    const model = join(dir, "model");
    const world = join(dir, "ueo");
    mkdirSync(world);
    let t0 = performance.now();
    makeTinyClip(model, SEED, dims(layers));
    const makeS = (performance.now() - t0) / 1000;
    const specFile = join(dir, "ueo_bench.vlmp");
    writeFileSync(specFile, pipelineText(model, world, layers));
    const compiled = compileFile(specFile, { mode: "run" });
    const errs = compiled.diagnostics.filter((d) => d.severity === "error");
    if (!compiled.ir || errs.length > 0)
      throw new Error(`the benchmark pipeline does not compile: ${errs.map((d) => d.message).join("; ")}`);
    const ir = compiled.ir;

    // The step as `vlmp run` builds it.
    t0 = performance.now();
    const backbone = loadBackbone(ir);
    const adapters = ir.root.adapters;
    const params = modelParams(ir, backbone, adapters, 2023);
    const step = buildStepGraph(
      ir,
      backbone,
      adapters,
      objectiveBlocks(ir)[0]!,
      { batch: BATCH, classes, prompts: 1 },
      params.trainable,
      2023,
    );
    const names = Array.from({ length: classes }, (_, k) => `class ${k}`);
    const text = promptTensors({ adapters, templates: [], backbone }, names);
    const pixels = uniforms("pixels", BATCH * 3 * 224 * 224, -2, 2);
    const w = uniforms("w", BATCH, 0.2, 0.8);
    // The params as `vlmp run` feeds them: the trained ones f64 (params.values), the backbone's f32.
    const feeds = evaluationFeeds(step.graph, backbone.checkpoint, params.values);
    feeds.set(step.pixels, { shape: [BATCH, 3, 224, 224], data: Float64Array.from(pixels) });
    feeds.set(step.ids, text.ids);
    feeds.set(step.slots, text.slots);
    const weightsIn = step.inputs.get("constants.weights");
    if (!weightsIn || step.inputs.size !== 1)
      throw new Error(`the step reads ${[...step.inputs.keys()].join(", ")}, not constants.weights alone`);
    feeds.set(weightsIn.id, { shape: [BATCH], data: Float64Array.from(w) });
    const buildS = (performance.now() - t0) / 1000;

    // The inputs for PyTorch (the checkpoint it reads from model/).
    const rows = (t: Tensor) => Float32Array.from(t.data);
    const tensors: [string, number[], Float32Array][] = [
      ["pixels", [BATCH, 3, 224, 224], pixels],
      ["ids", [classes, 77], rows(text.ids)],
      ["slots", [classes, 77], rows(text.slots)],
      ["w", [BATCH], w],
    ];
    const index: Record<string, { shape: number[]; offset: number }> = {};
    let offset = 0;
    for (const [key, shape, data] of tensors) {
      index[key] = { shape, offset };
      offset += data.length;
    }
    const all = new Float32Array(offset);
    for (const [key, , data] of tensors) all.set(data, index[key]!.offset);
    writeFileSync(join(dir, "inputs.bin"), all);
    writeFileSync(
      join(dir, "inputs.json"),
      JSON.stringify({
        config: {
          eps: 1e-5,
          eot: 49407,
          patch: 16,
          layers,
          heads: 12,
          text_layers: layers,
          text_heads: 8,
          context: CONTEXT,
          lambda: LAMBDA,
          lr: LR,
        },
        tensors: index,
      }),
    );

    // vlmp: the device trainer, warm-up step (compiles), then timed steps.
    const ids = new Map<string, ValueId>();
    for (const n of step.graph.nodes) if (n.op === "param") ids.set(n.attrs.name, n.id);
    const grads = new Map<ValueId, ValueId>([...step.grads].map(([k, id]) => [ids.get(k)!, id]));
    const paramIds = new Set(ids.values());
    const frozen = new Map([...feeds].filter(([id]) => paramIds.has(id) && !grads.has(id)));
    const trainer = await createTrainer(device, step.graph, step.loss, grads, {
      optimizer: { kind: "sgd", lr: LR },
      matmul: tuned.matmul,
      frozen,
    });
    trainer.setParams(
      new Map([...step.grads.keys()].map((k) => [ids.get(k)!, params.values.get(k)!] as const)),
    );
    for (const id of frozen.keys()) feeds.delete(id);
    t0 = performance.now();
    const vlmpLoss = await trainer.step(feeds, LR);
    const warmS = (performance.now() - t0) / 1000;
    const seconds: number[] = [];
    for (let i = 0; i < reps; i++) {
      t0 = performance.now();
      const loss = await trainer.step(feeds, LR);
      seconds.push((performance.now() - t0) / 1000);
      if (!Number.isFinite(loss)) throw new Error(`vlmp: the loss is ${loss} at timed step ${i + 1}`);
    }
    const dispatches = trainer.dispatches;
    trainer.release();
    const trainable = [...grads.keys()].reduce((a, p) => a + feeds.get(p)!.data.length, 0);
    const vlmpIps = BATCH / median(seconds);
    log(
      `  vlmp: ${vlmpIps.toFixed(3)} img/s (${median(seconds).toFixed(2)} s/step, ${dispatches} kernels, ` +
        `${grads.size} trained tensors / ${trainable} values; warm-up step ${warmS.toFixed(1)} s, ` +
        `checkpoint ${makeS.toFixed(1)} s, graph ${buildS.toFixed(1)} s)`,
    );

    const missing = torchMissing();
    if (missing) {
      log(`  PyTorch: skipped (${missing})`);
      return {
        layers,
        classes,
        vlmpImagesPerS: vlmpIps,
        torchImagesPerS: undefined,
        vlmpLoss,
        torchLoss: undefined,
      };
    }
    const torch = runTorch(dir, reps);
    if (typeof torch === "string") throw new Error(torch);
    const torchS = median(torch.seconds);
    const torchIps = BATCH / torchS;
    const lossAbs = Math.abs(vlmpLoss - torch.loss);
    log(
      `  PyTorch ${torch.torch} CPU f32, ${torch.threads} threads: ${torchIps.toFixed(3)} img/s ` +
        `(${torchS.toFixed(2)} s/step) · ratio vlmp/torch ${(vlmpIps / torchIps).toFixed(3)}x (goal >= 0.1x)`,
    );
    log(
      `  same step: first loss (random weights: near-uniform logits, so close to 0) vlmp ` +
        `${vlmpLoss.toPrecision(9)}, PyTorch ${torch.loss.toPrecision(9)} (|Δ| ${lossAbs.toExponential(2)})`,
    );
    return {
      layers,
      classes,
      vlmpImagesPerS: vlmpIps,
      torchImagesPerS: torchIps,
      vlmpLoss,
      torchLoss: torch.loss,
    };
  } finally {
    device.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}
