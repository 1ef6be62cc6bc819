// AUPR (METHODS §6.6): average precision Σ_k (R_k − R_{k−1}) · P_k over distinct thresholds in decreasing
// order, R_0 = 0, step-wise without interpolation (sklearn's `average_precision_score`). The positive class
// is the one of AUROC. NaN without positives.

import { checkScores, type Positives, thresholdPoints } from "./ranking.ts";
import { type MetricResult, ok, undefinedMetric } from "./types.ts";

export function aupr(scores: ArrayLike<number>, positive: Positives): MetricResult {
  const { positives } = checkScores("aupr", scores, positive);
  if (positives === 0) {
    return undefinedMetric(
      "aupr",
      "no-positives",
      `aupr is undefined without positive samples (${scores.length} samples)`,
    );
  }
  let ap = 0;
  let previousRecall = 0;
  for (const { tp, fp } of thresholdPoints(scores, positive)) {
    const recall = tp / positives;
    ap += (recall - previousRecall) * (tp / (tp + fp));
    previousRecall = recall;
  }
  return ok(ap);
}
