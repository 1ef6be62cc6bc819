// Batched feature extraction: images (decoded and preprocessed by the worker pool) through the image
// tower, texts (CLIP's tokenizer, padded to the context) through the text tower, on the reference
// interpreter or WebGPU; a progress task per run. The last batch is padded to the batch size so one
// compiled graph serves every batch.

import type { ValueId } from "../../compiler/graph/graph.ts";
import type { Backend } from "../engine/backend.ts";
import { evaluationFeeds } from "../engine/model.ts";
import { ImagePool, loadImageBatches } from "../image/pool.ts";
import { type ProgressReporter, silentReporter } from "../progress/index.ts";
import type { Feed } from "../reference/tensor.ts";
import { type Tower, type TowerGraph, towerGraph } from "./encoder.ts";
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

/**
 * One tower lowered for batches of `batch` items, its weights fed, and the features [N, E] it fills batch
 * by batch; the last batch is padded by the caller.
 */
class TowerBatches {
  readonly batch: number;
  readonly out: Float32Array;
  private readonly embedDim: number;
  private readonly tower: TowerGraph;
  private readonly feeds: Map<ValueId, Feed>;
  private readonly backend: Backend;

  constructor(
    model: Pick<EmbedModel, "ir" | "call" | "checkpoint" | "embedDim">,
    private readonly which: Tower,
    items: number,
    options: EmbedOptions,
  ) {
    this.backend = options.backend;
    this.batch = batchSize(options, items);
    this.embedDim = model.embedDim;
    this.out = new Float32Array(items * model.embedDim);
    this.tower = towerGraph(model.ir, model.call, which, this.batch);
    this.feeds = evaluationFeeds(this.tower.graph, model.checkpoint);
  }

  /** The id of the tower's input `name`, which it must read. */
  input(name: string): ValueId {
    const id = this.optionalInput(name);
    if (id === undefined) throw new Error(`the ${this.which} tower does not read ${name}`);
    return id;
  }

  /** The id of the tower's input `name`, or undefined where the tower does not read it. */
  optionalInput(name: string): ValueId | undefined {
    return this.tower.inputs.get(name)?.id;
  }

  /** Feeds the input `id` for this batch and the following ones. */
  feed(id: ValueId, value: Feed): void {
    this.feeds.set(id, value);
  }

  /** Runs the fed batch: its first `count` rows are the features of the items from `start`. */
  async run(start: number, count: number): Promise<void> {
    const output = this.tower.output.id;
    const result = (await this.backend.run(this.tower.graph, this.feeds, [output])).get(output);
    if (!result) throw new Error("the backend returned no features");
    const e = this.embedDim;
    this.out.set(Float32Array.from(result.data.subarray(0, count * e)), start * e);
  }
}

/** Image features [N, E] (row-major Float32Array), in `paths` order. */
export async function embedImages(
  model: ImageTower,
  paths: readonly string[],
  options: EmbedOptions,
): Promise<Float32Array> {
  const n = paths.length;
  if (n === 0) return new Float32Array(0);
  const tower = new TowerBatches(model, "image", n, options);
  const { batch } = tower;
  const pixelsIn = tower.input("pixels");
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
      tower.feed(pixelsIn, { shape: [batch, 3, s, s], data: pixels });
      await tower.run(b.start, b.count);
      task.increment(b.count);
    }
  } finally {
    task.finish();
    await pool.close();
  }
  return tower.out;
}

/** Text features [N, E] (row-major Float32Array), in `texts` order. */
export async function embedTexts(
  model: EmbedModel,
  texts: readonly string[],
  options: EmbedOptions,
): Promise<Float32Array> {
  const n = texts.length;
  if (n === 0) return new Float32Array(0);
  const tower = new TowerBatches(model, "text", n, options);
  const { batch } = tower;
  const idsIn = tower.input("ids");
  const slotsIn = tower.optionalInput("slots");
  const ctx = model.context;
  const ids = model.checkpoint.tokenizer.tokenize(texts, { contextLength: ctx, padId: model.padId });
  if (slotsIn !== undefined)
    tower.feed(slotsIn, { shape: [batch, 1, ctx], data: new Float64Array(batch * ctx) });
  const task = (options.reporter ?? silentReporter).task(options.task ?? "embed texts", n, { unit: "text" });
  try {
    for (let start = 0; start < n; start += batch) {
      const count = Math.min(batch, n - start);
      const rows = new Float64Array(batch * ctx).fill(model.padId);
      rows.set(ids.subarray(start * ctx, (start + count) * ctx));
      tower.feed(idsIn, { shape: [batch, 1, ctx], data: rows });
      await tower.run(start, count);
      task.increment(count);
    }
  } finally {
    task.finish();
  }
  return tower.out;
}
