// Group metrics (METHODS §6.3): per-group accuracy for each (class y, attribute a) group, worst-group
// accuracy over the groups that have samples, the Waterbirds adjusted average weighted by training group
// sizes, and the plain mean accuracy.

import { correctness } from "./accuracy.ts";
import {
  checkLength,
  type Matrix,
  MetricInputError,
  type MetricResult,
  type MetricWarning,
  ok,
  undefinedMetric,
} from "./types.ts";

/** Waterbirds training group sizes in group order (landbird, land), (landbird, water), (waterbird, land), (waterbird, water). */
export const WATERBIRDS_TRAIN_COUNTS: readonly number[] = [3498, 184, 56, 1057];

/** The group of a (label, attribute) pair when the manifest has no group column: y × #attributes + a. */
export function groupOf(label: number, attribute: number, attributes: number): number {
  return label * attributes + attribute;
}

export interface PerGroupAccuracies {
  /** acc_g per group; NaN for an empty group. */
  readonly accuracies: readonly number[];
  readonly counts: readonly number[];
  readonly warnings: readonly MetricWarning[];
}

/** acc_g for g = 0..groupCount−1 (default: 1 + the largest group index seen). */
export function perGroupAccuracy(
  logits: Matrix,
  labels: ArrayLike<number>,
  groups: ArrayLike<number>,
  options: { readonly groupCount?: number } = {},
): PerGroupAccuracies {
  checkLength("per_group_accuracy", "groups", groups.length, logits.rows);
  const correct = correctness(logits, labels);
  let groupCount = options.groupCount ?? 0;
  if (options.groupCount === undefined)
    for (let i = 0; i < groups.length; i++) groupCount = Math.max(groupCount, groups[i]! + 1);
  const counts = new Array<number>(groupCount).fill(0);
  const hits = new Array<number>(groupCount).fill(0);
  for (let i = 0; i < logits.rows; i++) {
    const g = groups[i]!;
    if (!Number.isInteger(g) || g < 0 || g >= groupCount) {
      throw new MetricInputError(
        `per_group_accuracy: group ${g} of sample ${i} is outside [0, ${groupCount})`,
      );
    }
    counts[g]!++;
    hits[g]! += correct[i]!;
  }
  const empty = counts.flatMap((n, g) => (n === 0 ? [g] : []));
  const warnings: MetricWarning[] =
    empty.length > 0
      ? [
          {
            metric: "per_group_accuracy",
            code: "empty-group",
            message: `group${empty.length > 1 ? "s" : ""} ${empty.join(", ")} ha${empty.length > 1 ? "ve" : "s"} no samples; skipped`,
          },
        ]
      : [];
  return { accuracies: counts.map((n, g) => (n === 0 ? Number.NaN : hits[g]! / n)), counts, warnings };
}

/** min_g acc_g over groups with ≥ 1 sample; empty groups are skipped with a warning; none left → NaN. */
export function worstGroupAccuracy(perGroup: PerGroupAccuracies): MetricResult {
  const present = perGroup.accuracies.filter((a) => !Number.isNaN(a));
  const warnings = perGroup.warnings.map((w) => ({ ...w, metric: "worst_group_accuracy" }));
  if (present.length === 0) {
    return {
      value: Number.NaN,
      warnings: [
        ...warnings,
        { metric: "worst_group_accuracy", code: "empty", message: "no group has samples" },
      ],
    };
  }
  return ok(Math.min(...present), warnings);
}

/**
 * Σ_g n_g^train · acc_g^test / Σ_g n_g^train (Waterbirds: `WATERBIRDS_TRAIN_COUNTS`). A group with training
 * weight but no test samples makes it undefined (NaN with a warning); groups of weight 0 are ignored.
 */
export function adjustedAverage(perGroup: PerGroupAccuracies, trainCounts: readonly number[]): MetricResult {
  checkLength("adjusted_average", "train_counts", trainCounts.length, perGroup.accuracies.length);
  let weighted = 0;
  let total = 0;
  const missing: number[] = [];
  perGroup.accuracies.forEach((a, g) => {
    const n = trainCounts[g]!;
    if (n === 0) return;
    if (Number.isNaN(a)) missing.push(g);
    weighted += n * a;
    total += n;
  });
  if (missing.length > 0) {
    return undefinedMetric(
      "adjusted_average",
      "empty-group",
      `no test samples in group ${missing.join(", ")}`,
    );
  }
  if (total === 0) return undefinedMetric("adjusted_average", "empty", "all training counts are 0");
  return ok(weighted / total);
}
