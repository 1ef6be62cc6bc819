// The data block's `bad_images` setting, decided in one place for every reader of images (evaluation, the
// constants pass, training, `vlmp embed --data`). `fail` (the default) changes nothing: the first image that
// cannot be read stops the run with ImageDecodeError naming it. `skip` decodes every image of a source once,
// before anything reads it, and hands back the source without the images that could not be read, its items
// renumbered as if those images had never been listed (per-sample constants and augmentation are keyed by
// position), so every batch is whole and no caller has a row to drop. Each skipped image is recorded with
// its reason: items = used + skipped, per source.

import type { JsonValue } from "../../compiler/values.ts";
import type { DataItem, DataSource } from "../data/sources/types.ts";
import type { ProgressReporter } from "../progress/reporter.ts";
import { decodeRgb } from "./decode.ts";
import { ImageDecodeError, type ImageErrorReason } from "./errors.ts";

export type BadImagePolicy = "fail" | "skip";

export interface SkippedImage {
  readonly path: string;
  readonly reason: ImageErrorReason;
  readonly detail: string;
  /** The source that listed it (`synthetic(...)`). */
  readonly source: string;
}

/** Images decoded at once while screening (sharp decodes on its own thread pool). */
const SCREEN_CONCURRENCY = 8;
/** Skipped images named one by one on the reporter; the rest are counted. */
const WARN_EACH = 5;

/** The policy a data block's settings ask for (`bad_images = skip`); `fail` when unset. */
export function badImagePolicy(settings: { readonly [key: string]: JsonValue }): BadImagePolicy {
  const v = settings["bad_images"];
  return typeof v === "object" && v !== null && !Array.isArray(v) && v["$symbol"] === "skip"
    ? "skip"
    : "fail";
}

export class BadImages {
  readonly skipped: SkippedImage[] = [];
  private readonly screened = new Map<DataSource, Promise<DataSource>>();

  constructor(
    readonly policy: BadImagePolicy,
    private readonly reporter: ProgressReporter,
  ) {}

  /** `source` without the images that cannot be read (`skip`), screened once per source; as is for `fail`. */
  usable(source: DataSource): Promise<DataSource> {
    if (this.policy === "fail" || source.cached) return Promise.resolve(source);
    let screened = this.screened.get(source);
    if (!screened) {
      screened = this.screen(source);
      this.screened.set(source, screened);
    }
    return screened;
  }

  /** What summary.json's `extra` records: the count of skipped images, under `skip` only. */
  summaryFields(): { skipped_images?: number } {
    return this.policy === "skip" ? { skipped_images: this.skipped.length } : {};
  }

  /** skipped-images.txt: one line per skipped image, `PATH<TAB>REASON: DETAIL<TAB>SOURCE`. */
  listing(): string {
    return this.skipped.map((s) => `${s.path}\t${s.reason}: ${s.detail}\t${s.source}\n`).join("");
  }

  private async screen(source: DataSource): Promise<DataSource> {
    const failures = new Map<DataItem, ImageDecodeError>();
    const task = this.reporter.task(`check ${source.description}`, source.items.length, { unit: "img" });
    let next = 0;
    const worker = async () => {
      while (next < source.items.length) {
        const item = source.items[next++]!;
        try {
          await decodeRgb(item.path);
        } catch (error) {
          if (!(error instanceof ImageDecodeError)) throw error;
          failures.set(item, error);
        }
        task.increment(1);
      }
    };
    await Promise.all(Array.from({ length: SCREEN_CONCURRENCY }, worker));
    task.finish();
    if (failures.size === 0) return source;
    const kept: DataItem[] = [];
    for (const item of source.items) {
      const failure = failures.get(item);
      if (failure) {
        const { reason, detail } = failure;
        this.record({ path: item.path, reason, detail, source: source.description });
      } else kept.push({ ...item, index: kept.length });
    }
    this.reporter.log(
      `warning: ${source.description}: skipped ${failures.size} of ${source.items.length} images that cannot be read (bad_images = skip; listed in skipped-images.txt)`,
    );
    return { ...source, items: kept };
  }

  private record(skipped: SkippedImage): void {
    this.skipped.push(skipped);
    if (this.skipped.length <= WARN_EACH) {
      this.reporter.log(`warning: skipping ${skipped.path}: ${skipped.reason}: ${skipped.detail}`);
    }
  }
}
