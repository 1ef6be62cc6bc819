// FPR at 95 % TPR (METHODS §6.5). Thresholds at distinct scores; TPR(t), FPR(t) = fraction of positives /
// negatives with score ≥ t. No interpolation between thresholds:
//   mode atLeast (vlmp default): FPR at the largest t with TPR(t) ≥ 0.95;
//   mode closest (the energy-OOD code family's `fpr_and_fdr_at_recall`): FPR at the t whose TPR is closest
//   to 0.95. As in that code, thresholds below the first one reaching TPR 1 are not candidates, and a tie
//   goes to the lowest threshold (its `np.argmin` runs over the thresholds in increasing order), so among
//   thresholds of equal TPR the one with the most false positives wins.
// NaN (with a warning) when either class is absent.

import { checkScores, type Positives, thresholdPoints } from "./ranking.ts";
import { type MetricResult, ok, undefinedMetric } from "./types.ts";

export type Fpr95Mode = "atLeast" | "closest";

export function fpr95(
  scores: ArrayLike<number>,
  positive: Positives,
  options: { readonly mode?: Fpr95Mode; readonly recall?: number } = {},
): MetricResult {
  const mode = options.mode ?? "atLeast";
  const level = options.recall ?? 0.95;
  const { positives, negatives } = checkScores("fpr95", scores, positive);
  if (positives === 0 || negatives === 0) {
    return undefinedMetric(
      "fpr95",
      "one-class",
      `fpr95 is undefined with ${positives === 0 ? "no positive" : "no negative"} samples (${scores.length} samples)`,
    );
  }
  const points = thresholdPoints(scores, positive); // decreasing thresholds, increasing TPR
  if (mode === "atLeast") {
    // The largest threshold with TPR ≥ level is the first such point (one always exists: the last has TPR 1).
    const hit = points.find((p) => p.tp / positives >= level)!;
    return ok(hit.fp / negatives);
  }
  let best = points[0]!;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const p of points) {
    const distance = Math.abs(p.tp / positives - level);
    if (distance <= bestDistance) {
      best = p;
      bestDistance = distance;
    }
    if (p.tp === positives) break;
  }
  return ok(best.fp / negatives);
}
