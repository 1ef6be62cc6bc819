// One `evaluate LABEL { … }` block: the class text features once (in chunks of classes), then the source
// streamed in batches of `batch` images (the last one padded; its padding rows dropped), the next batch
// decoded and preprocessed while the device runs the current one; the block's `output` gathered into an
// N × C matrix and its metrics computed.

import type { ValueId } from "../../compiler/graph/graph.ts";
import type { IrBlock, PipelineIr } from "../../compiler/ir.ts";
import { isJsonObject, type JsonValue } from "../../compiler/values.ts";
import type { DataSource } from "../data/sources/types.ts";
import { preprocessBatch } from "../image/preprocess.ts";
import type { ProgressReporter } from "../progress/reporter.ts";
import type { Feed, Tensor } from "../reference/tensor.ts";
import type { Backend } from "./backend.ts";
import { RunError } from "./errors.ts";
import { type ComputedMetrics, computeMetrics } from "./metrics.ts";
import { type Backbone, evaluationFeeds, splitForward } from "./model.ts";
import { classPrompts, contextPromptSpec, contextPrompts, type PromptTensors } from "./prompts.ts";

/** Sites an evaluate block's `output` may name. */
const OUTPUT_SITES = new Set(["logits", "cosines"]);

export interface EvaluateContext {
  readonly ir: PipelineIr;
  readonly backbone: Backbone;
  readonly backend: Backend;
  readonly adapters: readonly JsonValue[];
  readonly templates: readonly string[];
  readonly reporter: ProgressReporter;
  readonly weightCache: Map<string, Tensor>;
  readonly signal?: AbortSignal | undefined;
}

export interface BlockResult {
  readonly label: string;
  readonly metrics: ComputedMetrics;
  readonly output: { data: Float64Array; rows: number; cols: number };
  readonly labels: readonly number[];
  readonly images: number;
  /** Seconds of the image batches (compilation left out). */
  readonly seconds: number;
  /** Seconds of the whole block: lowering, compilation, text features, images. */
  readonly totalSeconds: number;
}

/** The site an `output` setting names (`logits`, `cosines`). */
export function outputSite(block: IrBlock): string {
  const out = block.settings["output"];
  if (isJsonObject(out) && "$ref" in out && OUTPUT_SITES.has(String(out["$ref"]))) return String(out["$ref"]);
  throw new RunError(
    `evaluate ${block.label ?? ""}: output = ${JSON.stringify(out)} is not supported yet (use logits or cosines)`,
  );
}

export function checkAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new RunError("interrupted");
}

/** Prompts per class: 1 with a learned context (the `prompt` adapter), else every template. */
export function promptsPerClass(ctx: Pick<EvaluateContext, "adapters" | "templates">): number {
  return contextPromptSpec(ctx.adapters) ? 1 : ctx.templates.length;
}

/** The class prompts' token ids and context slots: learned-context prompts or the data's templates. */
export function promptTensors(
  ctx: Pick<EvaluateContext, "adapters" | "templates" | "backbone">,
  classes: readonly string[],
): PromptTensors {
  const spec = contextPromptSpec(ctx.adapters);
  const tokenizer = ctx.backbone.checkpoint.tokenizer;
  return spec
    ? contextPrompts(tokenizer, spec, classes, { padId: ctx.backbone.padId, context: ctx.backbone.context })
    : classPrompts(tokenizer, ctx.templates, classes, {
        padId: ctx.backbone.padId,
        context: ctx.backbone.context,
      });
}

/** Text features [C, E] of `classes`, in chunks of classes so that big template lists stay small. */
async function textFeatures(
  ctx: EvaluateContext,
  classes: readonly string[],
  batch: number,
): Promise<Tensor> {
  const P = promptsPerClass(ctx);
  const chunk = Math.max(1, Math.min(classes.length, Math.floor(256 / P)));
  const split = splitForward(
    ctx.ir,
    ctx.backbone,
    ctx.adapters,
    { batch, classes: classes.length, textClasses: chunk, templates: P },
    [],
  );
  const feeds = evaluationFeeds(split.text, ctx.backbone.checkpoint, ctx.weightCache);
  const rows: Float64Array[] = [];
  let width = 0;
  const task = ctx.reporter.task("text features", classes.length, { unit: "class" });
  for (let start = 0; start < classes.length; start += chunk) {
    checkAborted(ctx.signal);
    const names = classes.slice(start, start + chunk);
    const padded = [...names, ...Array.from({ length: chunk - names.length }, () => names[0]!)];
    const prompts = promptTensors(ctx, padded);
    feeds.set(split.textInputs.ids, prompts.ids);
    feeds.set(split.textInputs.slots, prompts.slots);
    const out = (await ctx.backend.run(split.text, feeds, [split.textFeaturesOut])).get(
      split.textFeaturesOut,
    )!;
    width = out.shape[1]!;
    rows.push(out.data.subarray(0, names.length * width));
    task.increment(names.length);
  }
  task.finish();
  const data = new Float64Array(classes.length * width);
  let at = 0;
  for (const r of rows) {
    data.set(r, at);
    at += r.length;
  }
  return { shape: [classes.length, width], data };
}

export interface SourceOutputs {
  /** Per site: [items, C] (or [items, width]) row-major. */
  readonly outputs: ReadonlyMap<string, { data: Float64Array; rows: number; cols: number }>;
  /** Seconds of the image batches (compilation left out). */
  readonly seconds: number;
}

/**
 * Runs the model (text features once, where a site reads them, then the images in batches of `batch`, test
 * preprocessing) over `source` and gathers the `sites` (`logits`, `cosines`, `image_features`) for every
 * item, in source order. A source of cached features (`features(file)`) skips the image tower: its rows
 * are fed as the image features.
 */
export async function forwardSource(
  ctx: EvaluateContext,
  label: string,
  source: DataSource,
  classes: readonly string[],
  batch: number,
  sites: readonly string[],
): Promise<SourceOutputs> {
  const items = source.items;
  if (items.length === 0) throw new RunError(`${label}: ${source.description} holds no images`);
  const cached = source.cached;
  if (cached) {
    checkFeatureWidth(ctx, label, cached);
    checkCachedClasses(label, source, classes);
  }
  const B = Math.min(batch, items.length);
  const split = splitForward(
    ctx.ir,
    ctx.backbone,
    ctx.adapters,
    { batch: B, classes: classes.length, textClasses: 1, templates: promptsPerClass(ctx) },
    sites,
    cached !== undefined,
  );
  const feeds = evaluationFeeds(split.image, ctx.backbone.checkpoint, ctx.weightCache);
  if (split.readsText) feeds.set(split.textFeaturesIn, await textFeatures(ctx, classes, B));
  const batchInput = cached ? split.imageFeaturesIn : split.pixels;
  // Cached features asked for as a site are the batch itself: no graph computes them.
  const outIds: ValueId[] = sites.map((s) => split.imageOutputs.get(s)!);
  const computed = outIds.filter((id) => id !== batchInput);
  const S = split.imageSize;
  const per = 3 * S * S;
  const gathered = outIds.map(() => ({ data: new Float64Array(0), rows: items.length, cols: 0 }));

  // Pixels stay f32 (preprocessing's precision): the device takes them as they are.
  const loadPixels = async (start: number): Promise<Feed> => {
    const paths = items.slice(start, start + B).map((it) => it.path);
    const pixels = await preprocessBatch(paths, { size: S });
    const data = new Float32Array(B * per);
    data.set(pixels);
    return { shape: [B, 3, S, S], data };
  };
  // Padding rows repeat the batch's first row (a zero row would normalise to NaN); they are dropped.
  const loadFeatures = async (start: number): Promise<Tensor> => {
    const D = cached!.dim;
    const data = new Float64Array(B * D);
    for (let r = 0; r < B; r++) data.set(items[start + r]?.features ?? items[start]!.features!, r * D);
    return { shape: [B, D], data };
  };
  const load = cached ? loadFeatures : loadPixels;
  let next: Promise<Feed> | undefined = load(0);
  feeds.set(batchInput, await next);
  if (computed.length > 0) await ctx.backend.warmUp(split.image, feeds, computed);
  const task = ctx.reporter.task(label, items.length, { unit: cached ? "row" : "img" });
  const imagesStarted = performance.now();
  for (let start = 0; start < items.length; start += B) {
    checkAborted(ctx.signal);
    const input = await next!;
    next = start + B < items.length ? load(start + B) : undefined;
    next?.catch(() => {});
    feeds.set(batchInput, input);
    const values: Map<ValueId, Feed> =
      computed.length > 0 ? await ctx.backend.run(split.image, feeds, computed) : new Map();
    values.set(batchInput, input);
    const n = Math.min(B, items.length - start);
    outIds.forEach((id, k) => {
      const out = values.get(id)!;
      const cols = out.shape[1] ?? 1;
      const g = gathered[k]!;
      if (g.cols === 0) {
        g.cols = cols;
        g.data = new Float64Array(items.length * cols);
      }
      g.data.set(out.data.subarray(0, n * cols), start * cols);
    });
    task.increment(n);
  }
  const seconds = (performance.now() - imagesStarted) / 1000;
  task.finish({ [cached ? "row/s" : "img/s"]: items.length / seconds });
  return { outputs: new Map(sites.map((s, k) => [s, gathered[k]!] as const)), seconds };
}

/**
 * A cached file's labels index the class list it was embedded with: the classes predicted here must be the
 * same names in the same order (as many as both lists hold), or every label would mean another class.
 */
function checkCachedClasses(label: string, source: DataSource, classes: readonly string[]): void {
  const n = Math.min(classes.length, source.classes.length);
  const differs = classes.slice(0, n).findIndex((c, i) => c !== source.classes[i]);
  if (differs >= 0) {
    throw new RunError(
      `${label}: ${source.cached!.file}: class ${differs} is '${source.classes[differs]}' in the file's class list and '${classes[differs]}' in the pipeline's; embed the data with the pipeline's class list or give the pipeline the file's`,
    );
  }
}

/** Cached features must be as wide as the backbone's projection (the file was embedded with another). */
function checkFeatureWidth(ctx: EvaluateContext, label: string, cached: { file: string; dim: number }): void {
  const E = ctx.backbone.checkpoint.config.projectionDim;
  if (cached.dim !== E) {
    throw new RunError(
      `${label}: ${cached.file}: the features are ${cached.dim} wide, but the backbone (${ctx.backbone.checkpoint.dir}) projects images to ${E}; embed the data with this backbone ('vlmp embed SPEC --data ENTRY --out FILE')`,
    );
  }
}

export async function evaluateBlock(
  ctx: EvaluateContext,
  block: IrBlock,
  source: DataSource,
  classes: readonly string[],
): Promise<BlockResult> {
  const label = block.label ?? "evaluate";
  const batch = Number(block.settings["batch"] ?? 192);
  const site = outputSite(block);
  const items = source.items;
  if (items.length === 0) throw new RunError(`evaluate ${label}: ${source.description} holds no images`);
  const started = performance.now();
  const run = await forwardSource(ctx, `evaluate ${label}`, source, classes, batch, [site]);
  const output = run.outputs.get(site)!;
  const B = Math.min(batch, items.length);

  const labels = items.map((it) => it.label);
  const groups = items.every((it) => it.group !== undefined) ? items.map((it) => it.group!) : undefined;
  const metrics = computeMetrics((block.settings["metrics"] ?? []) as JsonValue[], {
    output,
    labels,
    groups,
    batch: B,
  });
  return {
    label,
    metrics,
    output,
    labels,
    images: items.length,
    seconds: run.seconds,
    totalSeconds: (performance.now() - started) / 1000,
  };
}
