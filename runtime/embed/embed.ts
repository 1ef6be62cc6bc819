// Batched feature extraction: images (decoded and preprocessed by the worker pool) through the image
// tower, texts (CLIP's tokenizer, padded to the context) through the text tower, on the reference
// interpreter or WebGPU; a progress task per run. The last batch is padded to the batch size so one
// compiled graph serves every batch.

import type { ValueId } from "../../compiler/graph/graph.ts";
import type { Backend } from "../engine/backend.ts";
import { ImagePool, loadImageBatches } from "../image/pool.ts";
import { type ProgressReporter, silentReporter } from "../progress/index.ts";
import type { Feed, Tensor } from "../reference/tensor.ts";
import { paramFeeds, towerGraph } from "./encoder.ts";
import type { EmbedModel } from "./model.ts";

export interface EmbedOptions {
  backend: Backend;
  /** Items per forward (default 32). */
  batch?: number;
  reporter?: ProgressReporter;
  /** Image decoding threads (default: the pool's; 0 decodes on this thread). */
  workers?: number;
  /** The progress task's name (default "embed images" / "embed texts"). */
  task?: string;
}

function batchSize(options: EmbedOptions, n: number): number {
  const batch = Math.floor(options.batch ?? 32);
  if (!(batch >= 1)) throw new Error(`batch must be a positive integer`);
  return Math.max(1, Math.min(batch, n));
}

/** What embedding images needs of a model: the backbone call in its IR, the weights and the sizes. */
export type ImageTower = Pick<EmbedModel, "ir" | "call" | "checkpoint" | "imageSize" | "embedDim">;

/** Image features [N, E] (row-major Float32Array), in `paths` order. */
export async function embedImages(
  model: ImageTower,
  paths: readonly string[],
  options: EmbedOptions,
): Promise<Float32Array> {
  const n = paths.length;
  const e = model.embedDim;
  const out = new Float32Array(n * e);
  if (n === 0) return out;
  const batch = batchSize(options, n);
  const tower = towerGraph(model.ir, model.call, "image", batch);
  const feeds = paramFeeds(tower, model.checkpoint.weights);
  const pixelsIn = tower.inputs.get("pixels");
  if (!pixelsIn) throw new Error("the image tower does not read pixels");
  const s = model.imageSize;
  const per = 3 * s * s;
  const task = (options.reporter ?? silentReporter).task(options.task ?? "embed images", n, { unit: "img" });
  const pool = new ImagePool({
    size: s,
    crop: "floor",
    ...(options.workers !== undefined ? { workers: options.workers } : {}),
  });
  try {
    const jobs = paths.map((input) => ({ input }));
    for await (const b of loadImageBatches(pool, jobs, { batch })) {
      const pixels = new Float64Array(batch * per);
      pixels.set(b.pixels);
      feeds.set(pixelsIn.id, { shape: [batch, 3, s, s], data: pixels });
      const rows = await runOutput(options.backend, tower.graph, feeds, tower.output.id);
      out.set(Float32Array.from(rows.data.subarray(0, b.count * e)), b.start * e);
      task.increment(b.count);
    }
  } finally {
    task.finish();
    await pool.close();
  }
  return out;
}

/** Text features [N, E] (row-major Float32Array), in `texts` order. */
export async function embedTexts(
  model: EmbedModel,
  texts: readonly string[],
  options: EmbedOptions,
): Promise<Float32Array> {
  const n = texts.length;
  const e = model.embedDim;
  const out = new Float32Array(n * e);
  if (n === 0) return out;
  const batch = batchSize(options, n);
  const tower = towerGraph(model.ir, model.call, "text", batch);
  const feeds = paramFeeds(tower, model.checkpoint.weights);
  const idsIn = tower.inputs.get("ids");
  if (!idsIn) throw new Error("the text tower does not read ids");
  const slotsIn = tower.inputs.get("slots");
  const ctx = model.context;
  const ids = model.checkpoint.tokenizer.tokenize(texts, { contextLength: ctx, padId: model.padId });
  if (slotsIn) feeds.set(slotsIn.id, { shape: [batch, 1, ctx], data: new Float64Array(batch * ctx) });
  const task = (options.reporter ?? silentReporter).task(options.task ?? "embed texts", n, { unit: "text" });
  try {
    for (let start = 0; start < n; start += batch) {
      const count = Math.min(batch, n - start);
      const rows = new Float64Array(batch * ctx).fill(model.padId);
      rows.set(ids.subarray(start * ctx, (start + count) * ctx));
      feeds.set(idsIn.id, { shape: [batch, 1, ctx], data: rows });
      const result = await runOutput(options.backend, tower.graph, feeds, tower.output.id);
      out.set(Float32Array.from(result.data.subarray(0, count * e)), start * e);
      task.increment(count);
    }
  } finally {
    task.finish();
  }
  return out;
}

async function runOutput(
  backend: Backend,
  graph: Parameters<Backend["run"]>[0],
  feeds: ReadonlyMap<ValueId, Feed>,
  output: ValueId,
): Promise<Tensor> {
  const result = (await backend.run(graph, feeds, [output])).get(output);
  if (!result) throw new Error("the backend returned no features");
  return result;
}
