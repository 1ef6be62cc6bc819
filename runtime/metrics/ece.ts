// Expected calibration error (METHODS §6.7). Confidence c_i = max softmax(ℓ_i), correctness 1[argmax = y_i];
// `bins` (default 15) equal-width bins on [0, 1], left-closed [k/B, (k+1)/B) with edges computed as k/B,
// confidence 1.0 in the last bin; ECE = Σ_k (|B_k|/n)·|acc(B_k) − conf(B_k)| (L1), empty bins contribute 0.
// pooled: one ECE over the whole set (vlmp default); perBatch: the ECE of each test mini-batch, then the
// unweighted mean over batches (CLAP4CLIP's official code).

import { correctness } from "./accuracy.ts";
import { confidences } from "./scores.ts";
import {
  checkLength,
  type Matrix,
  MetricInputError,
  type MetricResult,
  ok,
  undefinedMetric,
} from "./types.ts";

export type EceMode = "pooled" | "perBatch";

export interface ReliabilityBin {
  readonly lower: number;
  readonly upper: number;
  readonly count: number;
  /** Mean correctness in the bin (NaN when empty). */
  readonly accuracy: number;
  /** Mean confidence in the bin (NaN when empty). */
  readonly confidence: number;
}

export interface ReliabilityDiagram {
  readonly bins: readonly ReliabilityBin[];
  readonly ece: number;
  readonly samples: number;
}

/** The bin of confidence c: k with k/B ≤ c < (k+1)/B, clamped to [0, B−1] (so c = 1 is in the last bin). */
export function binOf(c: number, bins: number): number {
  let k = Math.min(bins - 1, Math.max(0, Math.floor(c * bins)));
  // c·B can round across an edge; settle against the edges k/B exactly as they are defined.
  while (k > 0 && c < k / bins) k--;
  while (k < bins - 1 && c >= (k + 1) / bins) k++;
  return k;
}

/** Reliability diagram data and the pooled ECE from confidences and 0/1 correctness. */
export function reliability(
  conf: ArrayLike<number>,
  correct: ArrayLike<number | boolean>,
  bins = 15,
): ReliabilityDiagram {
  checkLength("ece", "correctness", correct.length, conf.length);
  if (!Number.isInteger(bins) || bins < 1)
    throw new MetricInputError(`ece: bins must be a positive integer, got ${bins}`);
  const count = new Array<number>(bins).fill(0);
  const hit = new Array<number>(bins).fill(0);
  const sumConf = new Array<number>(bins).fill(0);
  for (let i = 0; i < conf.length; i++) {
    const c = conf[i]!;
    if (!(c >= 0 && c <= 1))
      throw new MetricInputError(`ece: confidence ${c} of sample ${i} is outside [0, 1]`);
    const k = binOf(c, bins);
    count[k]!++;
    hit[k]! += correct[i] ? 1 : 0;
    sumConf[k]! += c;
  }
  const n = conf.length;
  let ece = 0;
  const out: ReliabilityBin[] = [];
  for (let k = 0; k < bins; k++) {
    const m = count[k]!;
    const accuracy = m === 0 ? Number.NaN : hit[k]! / m;
    const confidence = m === 0 ? Number.NaN : sumConf[k]! / m;
    if (m > 0) ece += (m / n) * Math.abs(accuracy - confidence);
    out.push({ lower: k / bins, upper: (k + 1) / bins, count: m, accuracy, confidence });
  }
  return { bins: out, ece: n === 0 ? Number.NaN : ece, samples: n };
}

export interface EceOptions {
  readonly bins?: number;
  readonly mode?: EceMode;
  /**
   * perBatch only: the test mini-batches, either one batch size (consecutive batches of that size, the last
   * one partial) or the size of every batch in order (e.g. each task's loader ending in a partial batch).
   */
  readonly batch?: number | readonly number[];
}

/** ECE from confidences and correctness. */
export function eceFrom(
  conf: ArrayLike<number>,
  correct: ArrayLike<number | boolean>,
  options: EceOptions = {},
): MetricResult {
  const bins = options.bins ?? 15;
  checkLength("ece", "correctness", correct.length, conf.length);
  if (conf.length === 0) return undefinedMetric("ece", "empty", "ECE of an empty set is undefined");
  if ((options.mode ?? "pooled") === "pooled") return ok(reliability(conf, correct, bins).ece);
  const sizes = batchSizes(conf.length, options.batch);
  const values: number[] = [];
  let start = 0;
  for (const size of sizes) {
    const end = start + size;
    values.push(
      reliability(
        Array.prototype.slice.call(conf, start, end),
        Array.prototype.slice.call(correct, start, end),
        bins,
      ).ece,
    );
    start = end;
  }
  return ok(values.reduce((a, b) => a + b, 0) / values.length);
}

/** ECE of a logits matrix against labels (`ece(bins:, mode:)` of metrics.vlmp). */
export function ece(logits: Matrix, labels: ArrayLike<number>, options: EceOptions = {}): MetricResult {
  return eceFrom(confidences(logits), correctness(logits, labels), options);
}

/** Reliability diagram of a logits matrix (`reliability_diagram(bins:)`). */
export function reliabilityDiagram(logits: Matrix, labels: ArrayLike<number>, bins = 15): ReliabilityDiagram {
  return reliability(confidences(logits), correctness(logits, labels), bins);
}

function batchSizes(n: number, batch: number | readonly number[] | undefined): number[] {
  if (batch === undefined) throw new MetricInputError("ece: mode perBatch needs the batch size(s)");
  if (typeof batch === "number") {
    if (!Number.isInteger(batch) || batch < 1)
      throw new MetricInputError(`ece: batch size ${batch} is not positive`);
    const sizes: number[] = [];
    for (let start = 0; start < n; start += batch) sizes.push(Math.min(batch, n - start));
    return sizes;
  }
  const total = batch.reduce((a, b) => a + b, 0);
  if (total !== n || batch.some((b) => !Number.isInteger(b) || b < 1)) {
    throw new MetricInputError(`ece: batch sizes add up to ${total}, expected ${n} positive sizes`);
  }
  return [...batch];
}
