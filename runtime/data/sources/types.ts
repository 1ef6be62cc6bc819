// What a data source yields (stdlib/data.vlmp): items in a deterministic order, each with its image path
// (or, for cached features, its feature vector), its label in the source's label space and its position
// `index` in the source (per-sample constants are looked up by it). Unknown classes carry labels ≥ K
// (METHODS §1.1); `labelsHidden` marks a source whose labels the training loop must not see
// (`labels: hidden`).

export interface DataItem {
  /**
   * The image file, as a path the process can open (joined with the source's root); for cached features,
   * the features file and row (`feats.safetensors#12`), for messages only.
   */
  readonly path: string;
  readonly label: number;
  /** Position in the source, 0-based. */
  readonly index: number;
  readonly group?: number;
  readonly domain?: string;
  readonly task?: number;
  /** A text describing the image (captioned sources: contrastive pre-training pairs it with the image). */
  readonly caption?: string;
  /** The image's cached features [D] (`features(file)`): the image tower's output, read instead of `path`. */
  readonly features?: Float32Array;
}

export interface DataSource {
  /** A short description for messages and progress bars: `folder("data/x")`. */
  readonly description: string;
  readonly items: readonly DataItem[];
  /** Class names by label: the known classes first, then the unknown ones (labels ≥ `known`). */
  readonly classes: readonly string[];
  /** K: labels below it are known classes. */
  readonly known: number;
  readonly labelsHidden: boolean;
  /** Set when the items carry cached image features instead of images: the file and its width D. */
  readonly cached?: { readonly file: string; readonly dim: number };
}

/** A missing file or folder, or content that cannot be read as the source says: names the path. */
export class DataError extends Error {
  override readonly name = "DataError";
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(`${path}: ${message}`);
  }
}

/** Inclusive-exclusive index ranges, as the IR writes `0..50` (`{$range: [0, 50]}`). */
export type Range = readonly [number, number];

export function inRanges(i: number, ranges: readonly Range[]): boolean {
  return ranges.some(([a, b]) => i >= a && i < b);
}
