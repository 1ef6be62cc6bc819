// AUROC (METHODS §6.4): P(s⁺ > s⁻) + ½·P(s⁺ = s⁻) over all positive–negative pairs, computed with average
// ranks (Mann–Whitney U): AUROC = (R⁺ − P(P+1)/2) / (P·N), R⁺ the sum of the positives' average ranks.
// This equals the trapezoidal area under the ROC on distinct thresholds. One class only → NaN + warning.

import { checkScores, type Positives } from "./ranking.ts";
import { type MetricResult, ok, undefinedMetric } from "./types.ts";

/** Average ranks (1-based) of `scores` in ascending order; tied values share the mean of their ranks. */
export function averageRanks(scores: ArrayLike<number>): Float64Array {
  const n = scores.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a]! - scores[b]!);
  const ranks = new Float64Array(n);
  let j = 0;
  while (j < n) {
    let k = j;
    while (k + 1 < n && scores[order[k + 1]!]! === scores[order[j]!]!) k++;
    const rank = (j + k) / 2 + 1;
    for (let m = j; m <= k; m++) ranks[order[m]!] = rank;
    j = k + 1;
  }
  return ranks;
}

/** `positive[i]` truthy = sample i is positive (known / in-distribution); higher score = more positive. */
export function auroc(scores: ArrayLike<number>, positive: Positives, metric = "auroc"): MetricResult {
  const { positives, negatives } = checkScores(metric, scores, positive);
  if (positives === 0 || negatives === 0) {
    return undefinedMetric(
      metric,
      "one-class",
      `${metric} is undefined with ${positives === 0 ? "no positive" : "no negative"} samples (${scores.length} samples)`,
    );
  }
  const ranks = averageRanks(scores);
  let rankSum = 0;
  for (let i = 0; i < scores.length; i++) if (positive[i]) rankSum += ranks[i]!;
  const u = rankSum - (positives * (positives + 1)) / 2;
  return ok(u / (positives * negatives));
}
