// Shared by the threshold metrics (AUROC, AUPR, FPR95): input checks and the ROC points at distinct score
// thresholds, visited from the highest threshold down.

import { checkLength, MetricInputError } from "./types.ts";

export type Positives = ArrayLike<number | boolean>;

export interface Counted {
  readonly positives: number;
  readonly negatives: number;
}

/** NaN scores are an error (METHODS §6.4); lengths must agree. */
export function checkScores(metric: string, scores: ArrayLike<number>, positive: Positives): Counted {
  checkLength(metric, "positive mask", positive.length, scores.length);
  let positives = 0;
  for (let i = 0; i < scores.length; i++) {
    if (Number.isNaN(scores[i]!)) throw new MetricInputError(`${metric}: score of sample ${i} is NaN`);
    if (positive[i]) positives++;
  }
  return { positives, negatives: scores.length - positives };
}

export interface ThresholdPoint {
  /** The threshold t: a sample is called positive when its score ≥ t. */
  readonly threshold: number;
  /** Positives / negatives with score ≥ t. */
  readonly tp: number;
  readonly fp: number;
}

/** One point per distinct score, thresholds in decreasing order (cumulative counts). */
export function thresholdPoints(scores: ArrayLike<number>, positive: Positives): ThresholdPoint[] {
  const order = Array.from({ length: scores.length }, (_, i) => i).sort((a, b) => scores[b]! - scores[a]!);
  const points: ThresholdPoint[] = [];
  let tp = 0;
  let fp = 0;
  for (let j = 0; j < order.length; j++) {
    const i = order[j]!;
    if (positive[i]) tp++;
    else fp++;
    const next = order[j + 1];
    if (next === undefined || scores[next]! !== scores[i]!) points.push({ threshold: scores[i]!, tp, fp });
  }
  return points;
}
