// Decoding and preprocessing off the main thread: a small pool of worker threads, and a loader that keeps
// a bounded number of images in flight and hands batches back in input order (whatever order the workers
// finish in). A missing or corrupt image rejects with ImageDecodeError naming its path.

import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { ImageDecodeError, type ImageErrorReason } from "./errors.ts";
import { type ImageJob, type JobSettings, runImageJob } from "./job.ts";
import type { WorkReply, WorkRequest } from "./worker.ts";

export interface PoolOptions extends JobSettings {
  /** Worker threads; 0 runs jobs on the calling thread (default: cores − 1, at most 4). */
  workers?: number;
}

interface Pending {
  resolve: (pixels: Float32Array) => void;
  reject: (error: Error) => void;
}

interface Slot {
  worker: Worker;
  pending: Map<number, Pending>;
}

export function defaultWorkerCount(): number {
  return Math.max(1, Math.min(4, availableParallelism() - 1));
}

export class ImagePool {
  readonly settings: JobSettings;
  private readonly slots: Slot[] = [];
  private nextId = 0;
  private closed = false;

  constructor(options: PoolOptions) {
    this.settings = { size: options.size, ...(options.crop ? { crop: options.crop } : {}) };
    const count = options.workers ?? defaultWorkerCount();
    for (let i = 0; i < count; i++) this.slots.push(this.spawn());
  }

  get workers(): number {
    return this.slots.length;
  }

  private spawn(): Slot {
    const worker = new Worker(new URL("./worker-entry.js", import.meta.url));
    const slot: Slot = { worker, pending: new Map() };
    worker.on("message", (reply: WorkReply) => {
      const pending = slot.pending.get(reply.id);
      if (!pending) return;
      slot.pending.delete(reply.id);
      if (slot.pending.size === 0) worker.unref();
      if (reply.ok) {
        pending.resolve(reply.pixels);
      } else if (reply.error.decode) {
        const { path, reason, detail } = reply.error;
        pending.reject(new ImageDecodeError(path, reason as ImageErrorReason, detail));
      } else {
        pending.reject(new Error(reply.error.message));
      }
    });
    const failAll = (error: Error) => {
      for (const pending of slot.pending.values()) pending.reject(error);
      slot.pending.clear();
    };
    worker.on("error", (error) => failAll(new Error(`image worker failed: ${error.message}`)));
    worker.on("exit", (code) => {
      if (!this.closed) failAll(new Error(`image worker exited with code ${code}`));
    });
    worker.unref();
    return slot;
  }

  /** Preprocesses one image (on the least busy worker): Float32Array [3, size, size]. */
  run(job: ImageJob): Promise<Float32Array> {
    if (this.closed) return Promise.reject(new Error("the image pool is closed"));
    if (this.slots.length === 0) return runImageJob(job, this.settings);
    let slot = this.slots[0]!;
    for (const s of this.slots) if (s.pending.size < slot.pending.size) slot = s;
    const id = this.nextId++;
    const request: WorkRequest = { id, job, settings: this.settings };
    return new Promise<Float32Array>((resolve, reject) => {
      slot.pending.set(id, { resolve, reject });
      // Referenced while it has work, so the process waits for it; idle workers never hold it open.
      slot.worker.ref();
      slot.worker.postMessage(request);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
    this.slots.length = 0;
  }
}

export interface BatchOptions {
  /** Images per batch. */
  batch: number;
  /** Images in flight beyond the batch being assembled (default 2 batches). */
  prefetch?: number;
}

export interface ImageBatch {
  /** Index of the batch's first job. */
  start: number;
  /** Images in this batch (the last may be short). */
  count: number;
  /** Float32Array [count, 3, size, size]. */
  pixels: Float32Array;
}

/**
 * Batches of preprocessed images in job order. At most `batch + prefetch` images are decoded ahead of
 * the consumer; the first failure (in job order) is thrown, and nothing is skipped silently.
 */
export async function* loadImageBatches(
  pool: ImagePool,
  jobs: readonly ImageJob[],
  options: BatchOptions,
): AsyncGenerator<ImageBatch> {
  const batch = Math.max(1, Math.floor(options.batch));
  const ahead = batch + Math.max(0, options.prefetch ?? 2 * batch);
  const per = 3 * pool.settings.size * pool.settings.size;
  const inFlight: Promise<Float32Array>[] = [];
  let issued = 0;
  const issue = () => {
    while (issued < jobs.length && inFlight.length < ahead) {
      const promise = pool.run(jobs[issued++]!);
      promise.catch(() => {}); // observed when its turn comes
      inFlight.push(promise);
    }
  };
  try {
    for (let start = 0; start < jobs.length; start += batch) {
      issue();
      const count = Math.min(batch, jobs.length - start);
      const pixels = new Float32Array(count * per);
      for (let i = 0; i < count; i++) {
        pixels.set(await inFlight.shift()!, i * per);
        issue();
      }
      yield { start, count, pixels };
    }
  } finally {
    // Let in-flight work finish quietly if the consumer stops early or a job failed.
    await Promise.allSettled(inFlight);
  }
}
