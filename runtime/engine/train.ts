// `vlmp run` for a pipeline with a `train` block (METHODS §1 for UEO): the trainable parameters (adapters'
// initialised by initGraph, the backbone's unfrozen ones from the checkpoint), the `constants` pass over its
// source (test preprocessing, no gradient; a per-sample table looked up by the source's `index`), one step
// graph per batch size (lowerModel with the adapters → the block's objective over the model's sites and the
// constants' rows → gradients w.r.t. the trainable parameters), host-side optimiser updates with the
// schedule, shuffling and augmentation keyed by (seed, epoch, index), evaluation before (`eval_at_start`),
// every `eval_every` epochs and at the end, and a checkpoint of the parameters, the optimiser state and the
// constants at the start and at every epoch end, from which `--resume` continues bit for bit.

import { gradients } from "../../compiler/graph/autodiff.ts";
import { GraphBuilder } from "../../compiler/graph/builder.ts";
import type { ValueId } from "../../compiler/graph/graph.ts";
import type { IrBlock, PipelineIr } from "../../compiler/ir.ts";
import { LoweringError } from "../../compiler/lower/errors.ts";
import { Lowerer } from "../../compiler/lower/function.ts";
import { initGraph } from "../../compiler/lower/init.ts";
import { instantiate, type ModelParam } from "../../compiler/lower/instance.ts";
import { modelForwardGraph } from "../../compiler/lower/model.ts";
import {
  INTEGER_VALUES,
  lowerObjective,
  type ObjectiveBlock,
  objectiveBlocks,
  objectiveDims,
  resolveSetting,
} from "../../compiler/lower/objective.ts";
import { type LValue, numberValue, toTensor } from "../../compiler/lower/values.ts";
import { isJsonObject, type JsonObject, type JsonValue } from "../../compiler/values.ts";
import { DataResolver } from "../data/sources/resolve.ts";
import type { DataItem, DataSource } from "../data/sources/types.ts";
import { augmentRandom, DEFAULT_RATIO, randomResizedCropBox } from "../image/augment.ts";
import { BadImages, badImagePolicy } from "../image/bad-images.ts";
import { forEachDecoded, normalizeInto, resizeAndCrop } from "../image/preprocess.ts";
import { resizeBicubic } from "../image/resize.ts";
import { cropRgb, flipRgb } from "../image/rgb.ts";
import { type ProgressReporter, silentReporter } from "../progress/reporter.ts";
import { evaluate as referenceEvaluate } from "../reference/interpreter.ts";
import type { Feed, Tensor } from "../reference/tensor.ts";
import { writeCurvePlots, writeReliabilityPlot } from "../run/plots.ts";
import { RunDirectory } from "../run/run-dir.ts";
import { latestCheckpoint, type TrainCheckpoint, writeCheckpoint } from "./checkpoint.ts";
import { RunError } from "./errors.ts";
import {
  type BlockResult,
  checkAborted,
  type EvaluateContext,
  evaluateBlock,
  forwardSource,
  promptsPerClass,
  promptTensors,
} from "./evaluate.ts";
import { type Backbone, loadBackbone } from "./model.ts";
import { createOptimizer, type HostParam, type LearningRate } from "./optimizer.ts";
import { seededPermutation } from "./permutation.ts";
import { captionPrompts, contextPromptSpec, type PromptTensors } from "./prompts.ts";
import type { RunOptions, RunResult } from "./run-context.ts";
import {
  createRunDirectory,
  openContext,
  resolveTemplates,
  writeInterruptedSummary,
  writeKnownUnknownHistogram,
} from "./run-context.ts";
import { createSchedule } from "./schedule.ts";
import { cutGraph, spliceGraph } from "./split.ts";
import { type StepGraph, StepRunner, type StepTiming } from "./step-runner.ts";

/** Sites of the backbone a train or constants block may read. */
const SITES = new Set(["logits", "cosines", "image_features", "text_features", "pooled"]);
/**
 * Sites read with each row's own caption as the text side (contrastive pre-training): the forward runs with
 * the batch's captions as its C = N "classes", one prompt each, so column j of `logits` is row j's caption.
 */
const CAPTION_SITES: Readonly<Record<string, string>> = {
  caption_logits: "logits",
  caption_cosines: "cosines",
  caption_features: "text_features",
};
/** The class-prompt sites that a caption step cannot provide beside the caption ones. */
const CLASS_TEXT_SITES = new Set(["logits", "cosines", "text_features"]);

/** Whether the objective of `o` reads the caption sites (its text side is the rows' captions). */
export function readsCaptions(o: ObjectiveBlock): boolean {
  let found = false;
  const visit = (json: JsonValue | undefined): void => {
    if (Array.isArray(json)) json.forEach(visit);
    else if (isJsonObject(json)) {
      if ("$ref" in json && String(json["$ref"]) in CAPTION_SITES) found = true;
      for (const v of Object.values(json)) visit(v);
    }
  };
  visit(o.block.settings["objective"]);
  return found;
}

/** Per-batch values provided from the data (labels only when the source does not hide them). */
const ROW_VALUES = new Set(["labels", "index", "groups"]);
const COUNTERS = new Set(["epoch", "epochs", "step", "steps"]);

export interface TrainRunOptions extends RunOptions {
  /** A run directory to continue from its last checkpoint (the IR is the one it holds). */
  readonly resume?: string;
  /** Batches prepared while a step runs (trainEpoch's `lookahead`; tests compare it with 0). */
  readonly lookahead?: number;
}

export interface TrainResult extends RunResult {
  readonly before?: Record<string, number>;
  readonly steps: number;
  readonly epochs: number;
  /** Seconds of the optimisation steps (graph compilation and each device trainer's first step left out). */
  readonly trainSeconds: number;
  /** The steps `trainSeconds` times. */
  readonly timedSteps: number;
  /** Loss of every step, in order (for tests; resumed runs hold the steps after the checkpoint). */
  readonly losses: readonly number[];
  /** Where the parameter updates ran: on the device (WebGPU, parameters resident) or on the host. */
  readonly updates: "device" | "host";
}

// --- parameters ---------------------------------------------------------------------------------------------

export interface ModelParams {
  /** Every parameter of the lowered model, backbone first, adapters after. */
  readonly all: readonly ModelParam[];
  /** Keys of the trainable parameters, in model order. */
  readonly trainable: readonly string[];
  /** Initial values of the parameters no checkpoint holds (the adapters'), and of the trainable ones. */
  readonly values: Map<string, Tensor>;
}

/**
 * The model's parameters with the adapters applied: adapters' initial values from their initialisers
 * (`seed`; `words` from the backbone's token embeddings), trainable backbone parameters from the checkpoint.
 */
export function modelParams(
  ir: PipelineIr,
  backbone: Backbone,
  adapters: readonly JsonValue[],
  seed: number,
): ModelParams {
  const fwd = modelForwardGraph(ir, backbone.call, {
    adapters,
    dims: new Map([
      ["B", 1],
      ["C", 1],
      ["P", 1],
    ]),
  });
  const all = fwd.lowering.params.filter((p) => p.value);
  const ckpt = backbone.checkpoint.weights;
  const toInit = all.filter((p) => p.init && !ckpt.tensors.has(p.key));
  const tokenEmbedding = all.find((p) => p.key.endsWith("token_embedding.weight"));
  const values = new Map<string, Tensor>();
  if (toInit.length > 0) {
    const init = initGraph(toInit, seed, tokenEmbedding ? { tokenEmbedding } : {});
    const feeds = new Map<ValueId, Tensor>();
    for (const [key, v] of init.params)
      feeds.set(v.id, { shape: v.shape, data: Float64Array.from(ckpt.read(key)) });
    for (const [name, v] of init.inputs) {
      const key = name.slice(0, name.lastIndexOf(":"));
      const p = toInit.find((q) => q.key === key)!;
      if (name.endsWith(":ids")) {
        const ids = backbone.checkpoint.tokenizer.encode(String(p.init!.args["words"]));
        if (ids.length !== v.shape[0]) {
          throw new RunError(
            `${key}: ${JSON.stringify(p.init!.args["words"])} is ${ids.length} tokens, the parameter holds ${v.shape[0]}`,
          );
        }
        feeds.set(v.id, { shape: v.shape, data: Float64Array.from(ids) });
      } else {
        throw new RunError(`${key}: the initialiser input '${name}' is not supported by vlmp run yet`);
      }
    }
    const out = referenceEvaluate(init.graph, feeds);
    for (const [key, v] of init.values)
      values.set(key, { shape: v.shape, data: Float64Array.from(out.get(v.id)!.data) });
  }
  const trainable = all.filter((p) => p.trainable).map((p) => p.key);
  for (const key of trainable) {
    if (values.has(key)) continue;
    const p = all.find((q) => q.key === key)!;
    if (!ckpt.tensors.has(key)) throw new RunError(`the trainable parameter '${key}' has no initial value`);
    values.set(key, { shape: p.shape, data: Float64Array.from(ckpt.read(key)) });
  }
  return { all, trainable, values };
}

/** The parameter keys adapter `definition` (`adapters.affine`) makes trainable on its own. */
export function adapterKeys(
  ir: PipelineIr,
  backbone: Backbone,
  adapters: readonly JsonValue[],
  params: ModelParams,
) {
  return (definition: string): string[] => {
    const calls = adapters.filter((a) => isJsonObject(a) && a["$call"] === definition);
    if (calls.length === 0) return [];
    const tree = instantiate(ir, backbone.call, calls);
    const unfrozen = tree.backboneParams.filter((p) => p.trainable).map((p) => p.key);
    const owned = params.all.filter(
      (p) =>
        p.owner === definition ||
        p.owner.startsWith(`${definition}.`) ||
        p.owner.startsWith(`${definition}[`),
    );
    return [...unfrozen, ...owned.map((p) => p.key)];
  };
}

// --- the step graph -----------------------------------------------------------------------------------------

/**
 * The training step for batches of `batch` images over `classes` classes (`prompts` per class): the model's
 * forward with the adapters, the objective of `o` spliced onto its sites, the gradients of the loss w.r.t.
 * `trainable` (parameter keys).
 */
export function buildStepGraph(
  ir: PipelineIr,
  backbone: Backbone,
  adapters: readonly JsonValue[],
  o: ObjectiveBlock,
  sizes: { batch: number; classes: number; prompts: number; samples?: number; captions?: boolean },
  trainable: readonly string[],
  seed = 0,
): StepGraph {
  let fwd: ReturnType<typeof modelForwardGraph>;
  let objective: ReturnType<typeof lowerObjective>;
  // With captions, the batch's own captions are the text side: C = N, one prompt per caption.
  const classes = sizes.captions ? sizes.batch : sizes.classes;
  const prompts = sizes.captions ? 1 : sizes.prompts;
  const dims = new Map<string, number>([
    ["B", sizes.batch],
    ["N", sizes.batch],
    ["C", classes],
    ["K", classes],
    ["P", prompts],
  ]);
  try {
    fwd = modelForwardGraph(ir, backbone.call, {
      adapters,
      dims: new Map([
        ["B", sizes.batch],
        ["C", classes],
        ["P", prompts],
      ]),
      seed,
    });
    for (const [name, v] of fwd.lowering.sites) {
      if (name === "image_features" || name === "text_features") dims.set("E", v.shape[1]!);
      if (name === "pooled") dims.set("W", v.shape[1]!);
    }
    if (sizes.samples !== undefined) dims.set("S", sizes.samples);
    for (const s of objectiveDims(ir, o)) {
      if (!dims.has(s))
        throw new RunError(
          `the objective of '${o.path}' needs a size for '${s}' that vlmp run cannot give yet`,
        );
    }
    objective = lowerObjective(ir, o, dims, { seed });
  } catch (error) {
    if (error instanceof LoweringError)
      throw new RunError(`cannot lower the training step: ${error.message}`);
    throw error;
  }
  const bind = new Map<string, ValueId>();
  for (const { name } of objective.inputs) {
    if (sizes.captions && CLASS_TEXT_SITES.has(name)) {
      throw new RunError(
        `the objective reads '${name}' (class prompts) beside caption sites; a step has one text side`,
      );
    }
    const caption = CAPTION_SITES[name];
    if (caption !== undefined) {
      const v = fwd.lowering.sites.get(caption);
      if (!v) throw new RunError(`the objective reads '${name}', which the backbone does not provide`);
      bind.set(name, v.id);
    } else if (SITES.has(name)) {
      const v = fwd.lowering.sites.get(name);
      if (!v) throw new RunError(`the objective reads '${name}', which the backbone does not provide`);
      bind.set(name, v.id);
    } else if (
      !name.startsWith("constants.") &&
      !ROW_VALUES.has(name) &&
      !COUNTERS.has(name) &&
      name !== "training"
    ) {
      throw new RunError(`the objective reads '${name}', which vlmp run does not provide yet`);
    }
  }
  let spliced: ReturnType<typeof spliceGraph>;
  try {
    spliced = spliceGraph(fwd.graph, objective.graph, bind);
  } catch (error) {
    throw new RunError(`cannot join the objective to the model: ${(error as Error).message}`);
  }
  const loss = spliced.map.get(objective.loss.id)!;
  const paramIds = new Map<string, ValueId>();
  for (const n of spliced.graph.nodes) if (n.op === "param") paramIds.set(n.attrs.name, n.id);
  const wrt = trainable.filter((k) => paramIds.has(k));
  const { graph: withGrads, grads } = gradients(
    spliced.graph,
    loss,
    wrt.map((k) => paramIds.get(k)!),
  );
  const gradIds = new Map<string, ValueId>();
  for (const k of wrt) gradIds.set(k, grads.get(paramIds.get(k)!)!);
  const outputs = new Map<string, ValueId>([["loss", loss]]);
  for (const [k, id] of gradIds) outputs.set(`grad:${k}`, id);
  const graph = cutGraph(withGrads, outputs);
  const inputs = new Map<string, { id: ValueId; shape: readonly number[] }>();
  for (const n of graph.nodes) {
    if (n.op === "input" && !["pixels", "ids", "slots"].includes(n.attrs.name)) {
      inputs.set(n.attrs.name, { id: n.id, shape: n.shape });
    }
  }
  const pixels = fwd.inputs.get("pixels")!;
  return {
    graph,
    batch: sizes.batch,
    loss,
    grads: gradIds,
    pixels: pixels.id,
    ids: fwd.inputs.get("ids")!.id,
    slots: fwd.inputs.get("slots")!.id,
    imageSize: pixels.shape[2]!,
    inputs,
  };
}

// --- constants ----------------------------------------------------------------------------------------------

/**
 * The per-sample constants of a `constants` block: each setting other than on/using/batch is an expression
 * (a fn call) over the provided values of its source (sites run with test preprocessing, labels, index),
 * lowered and run on the reference interpreter; a table of one row per sample, in source order.
 */
export async function computeConstants(
  ctx: EvaluateContext,
  block: IrBlock,
  source: DataSource,
  classes: readonly string[],
): Promise<Map<string, Tensor>> {
  const exprs = Object.entries(block.settings).filter(
    ([k, v]) => !["on", "using", "batch"].includes(k) && v !== null,
  );
  const refs = new Set<string>();
  const walk = (j: JsonValue | undefined): void => {
    if (Array.isArray(j)) j.forEach(walk);
    else if (isJsonObject(j)) {
      if ("$ref" in j && !String(j["$ref"]).includes(".")) refs.add(String(j["$ref"]));
      for (const v of Object.values(j)) walk(v);
    }
  };
  for (const [, e] of exprs) walk(e);
  const sites = [...refs].filter((r) => SITES.has(r) && r !== "text_features");
  const S = source.items.length;
  const provided = new Map<string, Tensor>();
  if (sites.length > 0) {
    const out = await forwardSource(
      ctx,
      "constants",
      source,
      classes,
      Number(block.settings["batch"] ?? 192),
      sites,
    );
    for (const [name, m] of out.outputs) provided.set(name, { shape: [m.rows, m.cols], data: m.data });
  }
  provided.set("labels", { shape: [S], data: Float64Array.from(source.items.map((i) => i.label)) });
  provided.set("index", { shape: [S], data: Float64Array.from(source.items.map((i) => i.index)) });
  if (source.items.every((i) => i.group !== undefined)) {
    provided.set("groups", { shape: [S], data: Float64Array.from(source.items.map((i) => i.group!)) });
  }
  const o: ObjectiveBlock = { path: "constants", block, ancestors: [ctx.ir.root] };
  const table = new Map<string, Tensor>();
  for (const [name, expr] of exprs) {
    const b = new GraphBuilder();
    const lowerer = new Lowerer(ctx.ir, b, 0);
    const feeds = new Map<ValueId, Tensor>();
    const inputs = new Map<string, LValue>();
    const value = (json: JsonValue | undefined): LValue => {
      if (json === null || json === undefined) return { kind: "none" };
      if (typeof json === "number") return numberValue(json);
      if (typeof json === "boolean") return { kind: "bool", value: json };
      if (typeof json === "string") return { kind: "string", value: json };
      if (Array.isArray(json)) return { kind: "list", items: json.map(value) };
      if ("$symbol" in json) return { kind: "symbol", name: String(json["$symbol"]) };
      if ("$ref" in json) {
        const path = String(json["$ref"]);
        const t = provided.get(path);
        if (t) {
          let v = inputs.get(path);
          if (!v) {
            const node = b.input(path, t.shape, INTEGER_VALUES.has(path) ? "i32" : "f32");
            feeds.set(node.id, t);
            v = { kind: "tensor", value: node };
            inputs.set(path, v);
          }
          return v;
        }
        const setting = resolveSetting(o, path);
        if (setting === undefined)
          throw new RunError(`constants.${name}: '${path}' is not a value vlmp run provides`);
        return value(setting);
      }
      if ("$call" in json && json["definition"] === "function") {
        const named = new Map<string, LValue>();
        for (const [k, v] of Object.entries(json["args"] as JsonObject)) named.set(k, value(v));
        return lowerer.call(String(json["$call"]), [], named);
      }
      throw new RunError(
        `constants.${name}: ${JSON.stringify(json)} is not an expression vlmp run can compute yet`,
      );
    };
    let out: ValueId;
    try {
      const result = value(expr);
      out = toTensor(b, result).id;
    } catch (error) {
      if (error instanceof LoweringError)
        throw new RunError(`cannot lower constants.${name}: ${error.message}`);
      throw error;
    }
    const t = referenceEvaluate(b.build(), feeds).get(out)!;
    if (t.shape[0] !== S) {
      throw new RunError(`constants.${name} is [${t.shape.join(", ")}]; a per-sample constant has ${S} rows`);
    }
    table.set(name, { shape: t.shape, data: Float64Array.from(t.data) });
  }
  return table;
}

// --- data: order, augmentation ------------------------------------------------------------------------------

/** The order of an epoch: a permutation of 0..n−1 by (seed, epoch) (Fisher–Yates on Philox), or 0..n−1. */
export function epochOrder(n: number, seed: number, epoch: number, shuffle: boolean): number[] {
  return shuffle ? seededPermutation(n, seed, epoch, 2 ** 40) : Array.from({ length: n }, (_, i) => i);
}

export interface Augmentation {
  readonly crop?: { readonly scale: readonly [number, number]; readonly ratio: readonly [number, number] };
  readonly flip?: number;
}

export function parseAugment(list: JsonValue | undefined): Augmentation {
  let crop: Augmentation["crop"];
  let flip: number | undefined;
  for (const a of (Array.isArray(list) ? list : []) as JsonValue[]) {
    if (!isJsonObject(a)) continue;
    const name = String(a["$call"]).split(".").pop();
    const args = (a["args"] ?? {}) as JsonObject;
    if (name === "flip") flip = typeof args["p"] === "number" ? args["p"] : 0.5;
    else if (name === "random_resized_crop") {
      const scale = (Array.isArray(args["scale"]) ? args["scale"] : [0.08, 1]) as number[];
      const ratio = (Array.isArray(args["ratio"]) ? args["ratio"] : DEFAULT_RATIO) as number[];
      crop = { scale: [scale[0]!, scale[1]!], ratio: [ratio[0]!, ratio[1]!] };
    } else throw new RunError(`augmentation '${String(a["$call"])}' is not supported`);
  }
  return { ...(crop ? { crop } : {}), ...(flip !== undefined ? { flip } : {}) };
}

/**
 * A training batch [B, 3, S, S] at f32 (preprocessing's precision): each image cropped/flipped by (seed,
 * epoch, index), then normalised, one image per event-loop turn in batch order (forEachDecoded), so the
 * device's callbacks get through between them; each image draws from its own stream, so the order in which
 * decodes finish changes nothing. A bad image rejects with the first failure in batch order.
 */
async function trainPixels(
  items: readonly DataItem[],
  size: number,
  aug: Augmentation,
  seed: number,
  epoch: number,
): Promise<Feed> {
  const per = 3 * size * size;
  const out = new Float32Array(items.length * per);
  await forEachDecoded(
    items.map((item) => item.path),
    (decoded, i) => {
      let image = decoded;
      const random = augmentRandom(seed, epoch, items[i]!.index);
      if (aug.crop) {
        const box = randomResizedCropBox(image.width, image.height, random, aug.crop.scale, aug.crop.ratio);
        image = resizeBicubic(cropRgb(image, box.left, box.top, box.width, box.height), size, size);
      } else image = resizeAndCrop(image, size);
      if (aug.flip !== undefined && random() < aug.flip) image = flipRgb(image);
      normalizeInto(image, out, i * per);
    },
  );
  return { shape: [items.length, 3, size, size], data: out };
}

/** What a step's feeds read besides its rows: the class prompts (captions where none), the constants. */
export interface FeedContext {
  readonly backbone: Backbone;
  /** The class prompts; undefined: the rows' captions are the text side. */
  readonly prompts: PromptTensors | undefined;
  readonly constants: ReadonlyMap<string, Tensor>;
  /** The rows' source (whether it hides its labels; its description for messages). */
  readonly source: DataSource;
  /** The step counters the graph may read; `step` is the step the feeds are for (0-based). */
  readonly counters: {
    readonly epoch: number;
    readonly epochs: number;
    readonly step: number;
    readonly steps: number;
  };
}

/**
 * A step's feeds for `rows`, the parameters left out (StepRunner adds them where no device trainer holds
 * them): all of it is known before the step before it ends, so it is prepared ahead.
 */
export function stepFeeds(g: StepGraph, rows: readonly DataItem[], c: FeedContext): Map<ValueId, Tensor> {
  const feeds = new Map<ValueId, Tensor>();
  const text =
    c.prompts ??
    captionPrompts(
      c.backbone.checkpoint.tokenizer,
      rows.map((it) => it.caption!),
      { padId: c.backbone.padId, context: c.backbone.context },
    );
  feeds.set(g.ids, text.ids);
  feeds.set(g.slots, text.slots);
  for (const [name, input] of g.inputs) {
    let data: Float64Array;
    if (name.startsWith("constants.")) {
      const t = c.constants.get(name.slice("constants.".length));
      if (!t) throw new RunError(`the objective reads '${name}', which no constants block computes`);
      const width = t.data.length / t.shape[0]!;
      data = new Float64Array(rows.length * width);
      rows.forEach((it, i) => {
        data.set(t.data.subarray(it.index * width, (it.index + 1) * width), i * width);
      });
    } else if (name === "labels") {
      if (c.source.labelsHidden)
        throw new RunError(
          `the objective reads labels, but ${c.source.description} hides them (labels: hidden)`,
        );
      data = Float64Array.from(rows.map((it) => it.label));
    } else if (name === "index") data = Float64Array.from(rows.map((it) => it.index));
    else if (name === "groups") data = Float64Array.from(rows.map((it) => it.group ?? 0));
    else if (name === "epoch") data = Float64Array.of(c.counters.epoch);
    else if (name === "epochs") data = Float64Array.of(c.counters.epochs);
    else if (name === "step") data = Float64Array.of(c.counters.step);
    else if (name === "steps") data = Float64Array.of(c.counters.steps);
    else if (name === "training") data = Float64Array.of(1);
    else throw new RunError(`the step graph reads '${name}', which vlmp run does not provide yet`);
    feeds.set(input.id, { shape: input.shape, data });
  }
  return feeds;
}

export interface EpochPlan {
  readonly items: readonly DataItem[];
  readonly batch: number;
  readonly stepsPerEpoch: number;
  /** The epoch's order of `items` (epochOrder). */
  readonly order: readonly number[];
  readonly augment: Augmentation;
  /** Augmentation is keyed by (seed, epoch, index). */
  readonly seed: number;
  readonly epoch: number;
  readonly label: string;
  readonly stepGraph: (batch: number) => StepGraph;
  readonly runner: StepRunner;
  /** The feeds of `rows` (stepFeeds) for the caller's step `step` (0-based; the steps before counted). */
  readonly feeds: (g: StepGraph, rows: readonly DataItem[], step: number) => Map<ValueId, Tensor>;
  /** The learning rate of the caller's step `step` (0-based). */
  readonly lr: (step: number) => LearningRate;
  /**
   * After each step, in order (the caller counts steps and logs them): called while the device runs the
   * next step, and for the last one (or the one before a failure) before trainEpoch returns or throws.
   */
  readonly onStep: (loss: number, lr: LearningRate) => void;
  /** The caller's step and epoch before the epoch's first step. */
  readonly position: () => { step: number; epoch: number };
  readonly reporter: ProgressReporter;
  readonly signal?: AbortSignal | undefined;
  /**
   * Batches prepared (decoded, augmented, fed) while a step runs; 0 prepares each one after the step before
   * it (tests compare the two). The batches and the losses are the same whatever the value.
   */
  readonly lookahead?: number;
}

/** A batch ready to step on: its rows, its step graph and its feeds (pixels included, parameters not). */
interface PreparedBatch {
  readonly rows: readonly DataItem[];
  readonly graph: StepGraph;
  readonly feeds: Map<ValueId, Feed>;
}

/**
 * One epoch of steps over `items` in batches of `batch`, the next batch prepared on the host (sharp decodes
 * on libuv's threads, the augmentation and feeds between the device's callbacks) and the step before
 * logged while the device runs the current step; returns the mean loss. A batch that fails to prepare
 * fails the step it is for.
 */
export async function trainEpoch(e: EpochPlan): Promise<number> {
  const batches: DataItem[][] = [];
  for (let i = 0; i < e.stepsPerEpoch; i++)
    batches.push(e.order.slice(i * e.batch, (i + 1) * e.batch).map((k) => e.items[k]!));
  const task = e.reporter.task(e.label, batches.length, { unit: "step" });
  const size = e.stepGraph(batches[0]!.length).imageSize;
  const { step: firstStep, epoch } = e.position();
  const prepare = async (i: number): Promise<PreparedBatch> => {
    const rows = batches[i]!;
    const graph = e.stepGraph(rows.length);
    const feeds = new Map<ValueId, Feed>(e.feeds(graph, rows, firstStep + i));
    feeds.set(graph.pixels, await trainPixels(rows, size, e.augment, e.seed, e.epoch));
    return { rows, graph, feeds };
  };
  const lookahead = e.lookahead ?? 1;
  const pending: Promise<PreparedBatch>[] = [];
  let started = 0;
  const startUpTo = (last: number) => {
    for (; started <= Math.min(last, batches.length - 1); started++) {
      const batch = prepare(started);
      // Awaited in turn; one left behind by a step that throws must not reject unhandled.
      batch.catch(() => {});
      pending.push(batch);
    }
  };
  let total = 0;
  // The step before's log and progress: done while the device runs the next step, or on the way out.
  let finishPrevious: (() => void) | undefined;
  const finish = () => {
    const f = finishPrevious;
    finishPrevious = undefined;
    f?.();
  };
  try {
    for (let i = 0; i < batches.length; i++) {
      checkAborted(e.signal);
      startUpTo(i);
      const { rows, graph, feeds } = await pending.shift()!;
      const step = firstStep + i;
      const lr = e.lr(step);
      const loss = await e.runner.step(graph, feeds, lr, rows.length, { step, epoch }, () => {
        startUpTo(i + lookahead);
        finish();
      });
      finishPrevious = () => {
        e.onStep(loss, lr);
        total += loss;
        task.increment(1, { loss: loss.toFixed(4) });
      };
    }
  } finally {
    finish();
  }
  task.finish({ loss: (total / batches.length).toFixed(4) });
  return total / batches.length;
}

/** buildStepGraph for each batch size asked for, built once. */
export function stepGraphs(
  ir: PipelineIr,
  backbone: Backbone,
  adapters: readonly JsonValue[],
  o: ObjectiveBlock,
  sizes: { classes: number; prompts: number; samples?: number; captions?: boolean },
  trainable: readonly string[],
  seed: number,
): (batch: number) => StepGraph {
  const graphs = new Map<number, StepGraph>();
  return (batch) => {
    let g = graphs.get(batch);
    if (!g) {
      g = buildStepGraph(ir, backbone, adapters, o, { ...sizes, batch }, trainable, seed);
      graphs.set(batch, g);
    }
    return g;
  };
}

/** Steps of an epoch of `n` images in batches of `batch`: the short last batch kept unless `dropLast`. */
export function epochSteps(n: number, batch: number, dropLast: boolean, what: string): number {
  const full = Math.floor(n / batch);
  const steps = full + (n > full * batch && !dropLast ? 1 : 0);
  if (steps === 0) throw new RunError(`${what}: ${n} images make no batch of ${batch} (drop_last)`);
  return steps;
}

/** summary.json's `train` figures of the steps a runner timed. */
export function trainTiming(
  t: StepTiming,
  updates: StepRunner["updates"],
  epochs: number,
  steps: number,
): Record<string, unknown> {
  return {
    updates,
    epochs,
    steps,
    seconds: Number(t.seconds.toFixed(3)),
    timed_steps: t.steps,
    warm_up_seconds: Number(t.warmUpSeconds.toFixed(3)),
    steps_per_second: Number((t.steps / (t.seconds || 1)).toFixed(3)),
    images_per_second: Number((t.images / (t.seconds || 1)).toFixed(2)),
  };
}

// --- the run ------------------------------------------------------------------------------------------------

function sourceOf(
  resolver: DataResolver,
  data: IrBlock,
  ref: JsonValue | undefined,
  what: string,
): DataSource {
  const path = isJsonObject(ref) && "$ref" in ref ? String(ref["$ref"]) : "data.train";
  const name = path.startsWith("data.") ? path.slice(5) : path;
  const setting = data.settings[name];
  if (setting === undefined || setting === null)
    throw new RunError(`${what}: the data block has no source '${name}'`);
  return resolver.source(setting);
}

export async function runTraining(ir: PipelineIr, options: TrainRunOptions): Promise<TrainResult> {
  const reporter = options.reporter ?? silentReporter;
  const objectives = objectiveBlocks(ir);
  if (
    objectives.length !== 1 ||
    objectives[0]!.ancestors.length !== 1 ||
    objectives[0]!.block.block !== "train"
  ) {
    throw new RunError(
      `pipeline '${ir.pipeline}' trains in ${objectives.map((o) => o.path).join(", ")}; vlmp run trains one top-level train block so far`,
    );
  }
  const unsupported = ir.root.blocks.filter((b) => ["stage", "tasks", "fit"].includes(b.block));
  if (unsupported.length > 0) {
    throw new RunError(
      `pipeline '${ir.pipeline}' has ${unsupported[0]!.block} blocks; vlmp run does not run them yet`,
    );
  }
  const o = objectives[0]!;
  const train = o.block;
  const s = train.settings;
  for (const key of ["paired", "reference", "bank", "queue"]) {
    if (s[key] !== null && s[key] !== undefined)
      throw new RunError(`train.${key} is not supported by vlmp run yet`);
  }
  const select = s["select"];
  if (isJsonObject(select) && String(select["$call"]).split(".").pop() !== "last") {
    throw new RunError(`train.select = ${String(select["$call"])}(…) is not supported yet (last())`);
  }
  const data = ir.root.blocks.find((b) => b.block === "data");
  if (!data) throw new RunError(`pipeline '${ir.pipeline}' has no data block`);
  const resolver = new DataResolver(data.settings);
  const templates = resolveTemplates(ir, data.settings["templates"]);
  const badImages = new BadImages(badImagePolicy(data.settings), reporter);
  const source = await badImages.usable(sourceOf(resolver, data, s["on"], "train"));
  if (source.cached) {
    throw new RunError(
      `train: ${source.description} holds cached image features, but training runs the image tower on images (augmented, every step); train on the images (cached features serve evaluation)`,
    );
  }
  const classes = resolver.classes({ $ref: "data.classes" });
  const constantsBlocks = ir.root.blocks.filter((b) => b.block === "constants");
  if (constantsBlocks.length > 1) throw new RunError("vlmp run computes one constants block so far");
  const constantsBlock = constantsBlocks[0];
  if (constantsBlock) {
    if (JSON.stringify(constantsBlock.settings["on"]) !== JSON.stringify(s["on"] ?? { $ref: "data.train" })) {
      throw new RunError(
        "the constants block must run on the train block's source (its rows are looked up by index)",
      );
    }
    const using = constantsBlock.settings["using"];
    if (using !== null && using !== undefined && !(isJsonObject(using) && using["$symbol"] === "zeroShot")) {
      throw new RunError("constants.using = a stage is not supported yet");
    }
  }
  const evaluates = ir.root.blocks.filter((b) => b.block === "evaluate");
  const plans = evaluates.map((block) => ({
    block,
    source: sourceOf(
      resolver,
      data,
      { $ref: `data.${block.label ?? "test"}` },
      `evaluate ${block.label ?? "test"}`,
    ),
    classes: resolver.classes(block.settings["classes"] ?? { $ref: "data.classes" }),
  }));
  for (const p of plans) p.source = await badImages.usable(p.source);
  const epochs = Number(s["epochs"]);
  const batch = Number(s["batch"]);
  const shuffle = s["shuffle"] !== false;
  const dropLast = s["drop_last"] === true;
  const evalEvery = Number(s["eval_every"] ?? 0);
  const evalAtStart = s["eval_at_start"] === true;
  const seed = Number(s["seed"] ?? ir.root.settings["seed"] ?? 0);
  const augment = parseAugment(s["augment"]);
  const schedule = createSchedule(s["schedule"]);
  const items = source.items;
  if (items.length === 0) throw new RunError(`train: ${source.description} holds no images`);
  const stepsPerEpoch = epochSteps(items.length, batch, dropLast, "train");
  const totalSteps = stepsPerEpoch * epochs;

  const captions = readsCaptions(o);
  if (captions) {
    const missing = items.find((it) => it.caption === undefined);
    if (missing) {
      throw new RunError(
        `the objective reads caption sites, but ${source.description} has no caption for ${missing.path} (use a captioned source: synthetic(world: captions) or csv(caption: COLUMN))`,
      );
    }
  }
  const backbone = loadBackbone(ir);
  const adapters = ir.root.adapters;
  if (captions && contextPromptSpec(adapters)) {
    throw new RunError("a learned prompt context needs class prompts; caption sites have none");
  }
  const params = modelParams(ir, backbone, adapters, Number(ir.root.settings["seed"] ?? 0));
  if (params.trainable.length === 0)
    throw new RunError("nothing to train: no adapter makes a parameter trainable");
  const optimizer = createOptimizer(
    s["optimizer"],
    params.trainable,
    adapterKeys(ir, backbone, adapters, params),
  );
  const weightCache = new Map<string, Tensor>(params.values);
  const hostParams = new Map<string, HostParam>(
    params.trainable.map((k) => [k, { key: k, data: weightCache.get(k)!.data }]),
  );

  const ctx = await openContext(ir, options, { backbone, adapters, templates, reporter, weightCache });
  const backend = ctx.backend;
  let run: RunDirectory;
  let startEpoch = 0;
  let step = 0;
  let constants = new Map<string, Tensor>();
  let before: Record<string, number> | undefined;
  try {
    if (options.resume) {
      run = RunDirectory.open(options.resume);
      const ckpt = latestCheckpoint(run);
      if (!ckpt) throw new RunError(`${options.resume} holds no checkpoint to resume from`);
      for (const [k, t] of ckpt.params) {
        const target = weightCache.get(k);
        if (!target || target.data.length !== t.length)
          throw new RunError(`the checkpoint's '${k}' does not fit the model`);
        target.data.set(t);
      }
      optimizer.importState(ckpt.optimizerSteps, ckpt.optimizer);
      constants = new Map([...ckpt.constants].map(([k, v]) => [k, { shape: [v.length], data: v }]));
      startEpoch = ckpt.epoch;
      step = ckpt.step;
      const kept = run.records().filter((r) => (r.epoch ?? 0) <= startEpoch);
      run.writeFile("metrics.jsonl", kept.map((r) => `${JSON.stringify(r)}\n`).join(""));
      const summary = run.summary();
      if (summary.before)
        before = Object.fromEntries(Object.entries(summary.before).map(([k, v]) => [k, v ?? Number.NaN]));
      reporter.log(`resuming ${run.path} after epoch ${startEpoch} (step ${step})`);
    } else {
      run = createRunDirectory(ir, options, seed, backend);
    }
  } catch (error) {
    if (!options.backendInstance) backend.close();
    throw error;
  }

  if (badImages.policy === "skip") run.writeFile("skipped-images.txt", badImages.listing());
  const reported = plans.filter((p) => p.block.settings["report"] !== false);
  const timing: Record<string, unknown> = {};
  const evaluateAll = async (
    epoch: number,
  ): Promise<{ values: Record<string, number>; results: BlockResult[] }> => {
    await pull();
    const values: Record<string, number> = {};
    const results: BlockResult[] = [];
    for (const plan of plans) {
      checkAborted(options.signal);
      const result = await evaluateBlock(ctx, plan.block, plan.source, plan.classes);
      results.push(result);
      run.log({ kind: "eval", epoch, split: result.label, values: result.metrics.values });
      for (const w of result.metrics.warnings)
        reporter.log(`warning: evaluate ${result.label}: ${w.message}`);
      if (reported.includes(plan)) {
        for (const [k, v] of Object.entries(result.metrics.values))
          values[reported.length > 1 ? `${result.label}.${k}` : k] = v;
      }
      timing[result.label] = {
        images: result.images,
        seconds: Number(result.seconds.toFixed(3)),
        images_per_second: Number((result.images / result.seconds).toFixed(2)),
      };
    }
    return { values, results };
  };

  const losses: number[] = [];
  let after: Record<string, number> = {};
  let lastResults: BlockResult[] = [];
  let lastCheckpoint: string | undefined;
  // Device updates (WebGPU): the parameters and the optimiser's state live on the device, one trainer per
  // batch size sharing them; the host copies are brought up to date before a checkpoint or an evaluation
  // reads them, and uploaded when the first trainer is made (a resumed run's).
  const runner = new StepRunner({
    backend,
    backbone,
    weightCache,
    optimizer,
    hostParams,
    trainable: params.trainable,
    reporter,
  });
  const pull = () => runner.pull();
  const checkpoint = async (epoch: number): Promise<void> => {
    await pull();
    const state: TrainCheckpoint = {
      epoch,
      step,
      optimizerSteps: optimizer.steps,
      params: new Map(params.trainable.map((k) => [k, weightCache.get(k)!.data])),
      optimizer: optimizer.exportState(),
      constants: new Map([...constants].map(([k, t]) => [k, t.data])),
    };
    lastCheckpoint = writeCheckpoint(run, state, { irHash: options.irHash });
  };
  try {
    if (!options.resume) {
      if (constantsBlock) {
        constants = await computeConstants(ctx, constantsBlock, source, classes);
        for (const [k, t] of constants) {
          let sum = 0;
          for (const x of t.data) sum += x;
          run.log({
            kind: "epoch",
            epoch: 0,
            stage: "constants",
            values: { [`${k}_mean`]: sum / t.data.length },
          });
        }
      }
      await checkpoint(0);
      if (evalAtStart) {
        const r = await evaluateAll(0);
        before = r.values;
        run.writeSummary({ before });
        lastResults = r.results;
        if (epochs === 0) after = r.values;
      }
    }

    // The text side: the class prompts, the same every step (learned context where adapted), or the rows'
    // captions.
    const prompts = captions ? undefined : promptTensors(ctx, classes);
    const stepGraph = stepGraphs(
      ir,
      backbone,
      adapters,
      o,
      { classes: classes.length, prompts: promptsPerClass(ctx), samples: items.length, captions },
      params.trainable,
      seed,
    );
    const feedsFor = (g: StepGraph, rows: readonly DataItem[], epoch: number, at: number) =>
      stepFeeds(g, rows, {
        backbone,
        prompts,
        constants,
        source,
        counters: { epoch, epochs, step: at, steps: totalSteps },
      });

    for (let epoch = startEpoch; epoch < epochs; epoch++) {
      const epochLoss = await trainEpoch({
        items,
        batch,
        stepsPerEpoch,
        order: epochOrder(items.length, seed, epoch, shuffle),
        augment,
        seed,
        epoch,
        label: `epoch ${epoch + 1}/${epochs}`,
        stepGraph,
        runner,
        feeds: (g, rows, at) => feedsFor(g, rows, epoch, at),
        lr: (at) => schedule({ step: at, epoch, steps: totalSteps, epochs }),
        onStep: (loss, lr) => {
          step++;
          losses.push(loss);
          const groupLr = optimizer.groups[0] ? lr(optimizer.groups[0].lr) : 0;
          run.log({ kind: "step", step, epoch: epoch + 1, values: { loss, lr: groupLr } });
        },
        position: () => ({ step, epoch }),
        reporter,
        signal: options.signal,
        ...(options.lookahead !== undefined ? { lookahead: options.lookahead } : {}),
      });
      run.log({ kind: "epoch", epoch: epoch + 1, values: { loss: epochLoss } });
      await checkpoint(epoch + 1);
      const last = epoch + 1 === epochs;
      if (last || (evalEvery > 0 && (epoch + 1) % evalEvery === 0)) {
        const r = await evaluateAll(epoch + 1);
        lastResults = r.results;
        if (last) after = r.values;
      }
      writeCurvePlots(run);
    }
    if (options.resume && startEpoch >= epochs) {
      const r = await evaluateAll(epochs);
      lastResults = r.results;
      after = r.values;
    }
    for (const result of lastResults) {
      for (const d of result.metrics.diagrams) writeReliabilityPlot(run, result.label, d.diagram);
      writeKnownUnknownHistogram(run, result);
    }
    writeCurvePlots(run);
    run.writeSummary({
      ...(before ? { before } : {}),
      after,
      extra: {
        status: "finished",
        backend: backend.description,
        train: {
          ...trainTiming(runner.timing, runner.updates, epochs, step),
          ...(options.resume ? { resumed_from_epoch: startEpoch } : {}),
        },
        evaluate: timing,
        checkpoint: lastCheckpoint,
        ...badImages.summaryFields(),
      },
    });
  } catch (error) {
    writeInterruptedSummary(run, error, {
      backend: backend.description,
      checkpoint: lastCheckpoint,
      extra: badImages.summaryFields(),
    });
    throw error;
  } finally {
    runner.release();
    if (!options.backendInstance) backend.close();
  }
  return {
    dir: run.path,
    backend: backend.description,
    blocks: lastResults,
    after,
    ...(before ? { before } : {}),
    steps: step,
    epochs,
    trainSeconds: runner.timing.seconds,
    timedSteps: runner.timing.steps,
    losses,
    updates: runner.updates,
  };
}
