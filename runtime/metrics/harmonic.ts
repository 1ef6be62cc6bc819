// Harmonic means (METHODS §6.9). HM(a, b) = 2ab / (a + b), 0 when a + b = 0. Base-to-novel per dataset, and
// the two across-dataset conventions, each labelled where printed: the mean of per-dataset HMs (APEX's
// tables, `mean_of_hms`) and the HM of the mean base and mean novel accuracies (CoOp/CoCoOp, `hm_of_means`).
// UEO: HM(PACC, AUROC) with both in the same units.

import { type MetricResult, mean, ok, undefinedMetric } from "./types.ts";

export function hm(a: number, b: number): number {
  return a + b === 0 ? 0 : (2 * a * b) / (a + b);
}

/** `harmonic_mean(a:, b:)`: NaN (with a warning) when either input is NaN. */
export function harmonicMean(a: number, b: number, metric = "harmonic_mean"): MetricResult {
  if (Number.isNaN(a) || Number.isNaN(b)) {
    return undefinedMetric(metric, "empty", `harmonic mean of ${a} and ${b} is undefined`);
  }
  return ok(hm(a, b));
}

export interface BaseNovel {
  readonly base: number;
  readonly novel: number;
  readonly hm: number;
}

/** `base_novel`: base and novel accuracy of one dataset and their HM. */
export function baseNovel(base: number, novel: number): BaseNovel {
  return { base, novel, hm: hm(base, novel) };
}

/** (1/D) Σ_d HM(B_d, N_d). */
export function meanOfHms(datasets: readonly { base: number; novel: number }[]): MetricResult {
  if (datasets.length === 0) return undefinedMetric("mean_of_hms", "empty", "no datasets");
  return ok(mean(datasets.map((d) => hm(d.base, d.novel))));
}

/** HM(mean_d B_d, mean_d N_d). */
export function hmOfMeans(datasets: readonly { base: number; novel: number }[]): MetricResult {
  if (datasets.length === 0) return undefinedMetric("hm_of_means", "empty", "no datasets");
  return ok(hm(mean(datasets.map((d) => d.base)), mean(datasets.map((d) => d.novel))));
}
