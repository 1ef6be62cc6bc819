// The reference interpreter's tensor: a shape and row-major float64 values. Every dtype is
// held as float64 (i32 and bool as exact integers), which makes the reference the high-precision
// oracle the f32/f16 kernels are compared against.

export interface Tensor {
  readonly shape: readonly number[];
  readonly data: Float64Array;
}

/**
 * A tensor as a backend takes it: the reference's float64, or float32 where values are held at the
 * device's precision (checkpoint weights). The reference interpreter widens a float32 feed where it runs.
 */
export interface Feed {
  readonly shape: readonly number[];
  readonly data: Float32Array | Float64Array;
}

const immutableFeeds = new WeakSet<Feed>();
const widenedImmutable = new WeakMap<Feed, Tensor>();

/**
 * `feed` as the reference interpreter takes it: float64 (a float32 feed widened into a new array). An
 * immutable feed is widened once: the same checkpoint weights serve every batch and every step.
 */
export function widened(feed: Feed): Tensor {
  if (feed.data instanceof Float64Array) return { shape: feed.shape, data: feed.data };
  const kept = widenedImmutable.get(feed);
  if (kept) return kept;
  const wide = { shape: feed.shape, data: Float64Array.from(feed.data) };
  if (isImmutable(feed)) widenedImmutable.set(feed, wide);
  return wide;
}

/**
 * Declares that `feed`'s values never change from now on (checkpoint weights) and returns it. A device
 * may then keep the copy it uploaded and skip the upload when the same object is fed again. Feeds without
 * this mark are uploaded on every run: their owners may write them in place (trained parameters).
 */
export function markImmutable<T extends Feed>(feed: T): T {
  immutableFeeds.add(feed);
  return feed;
}

export function isImmutable(feed: Feed): boolean {
  return immutableFeeds.has(feed);
}

export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function tensor(shape: readonly number[], data: ArrayLike<number>): Tensor {
  if (data.length !== numel(shape)) throw new Error(`${data.length} values for shape [${shape.join(", ")}]`);
  return { shape: [...shape], data: Float64Array.from(data) };
}

/** Row-major strides. */
export function strides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i]!;
  }
  return s;
}

/** Strides that read a tensor of shape `from` as if broadcast to `to` (stride 0 along stretched axes). */
export function broadcastStrides(from: readonly number[], to: readonly number[]): number[] {
  const own = strides(from);
  const lead = to.length - from.length;
  return to.map((_, i) => (i < lead || from[i - lead] === 1 ? 0 : own[i - lead]!));
}

/**
 * Calls `visit(flat, offsets)` for every position of `shape` in row-major order, where offsets[k]
 * is the position's offset under `operandStrides[k]`.
 */
export function forEachIndex(
  shape: readonly number[],
  operandStrides: readonly (readonly number[])[],
  visit: (flat: number, offsets: readonly number[]) => void,
): void {
  const total = numel(shape);
  const rank = shape.length;
  const idx = new Array<number>(rank).fill(0);
  const offsets = operandStrides.map(() => 0);
  for (let flat = 0; flat < total; flat++) {
    visit(flat, offsets);
    for (let ax = rank - 1; ax >= 0; ax--) {
      idx[ax]!++;
      for (let k = 0; k < offsets.length; k++) offsets[k]! += operandStrides[k]![ax]!;
      if (idx[ax]! < shape[ax]!) break;
      for (let k = 0; k < offsets.length; k++) offsets[k]! -= operandStrides[k]![ax]! * shape[ax]!;
      idx[ax] = 0;
    }
  }
}
