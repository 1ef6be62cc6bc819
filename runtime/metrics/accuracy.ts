// Accuracies over a logits matrix (METHODS §6.1, §6.2, §6.8 TaW): top-1/top-k, per-class mean accuracy,
// task-aware accuracy and macro-F1. Predictions are argmax with ties to the lowest class index.

import { argmaxRow, predictions, rankOf } from "./predict.ts";
import {
  checkLabels,
  checkLength,
  type Matrix,
  type MetricResult,
  type MetricWarning,
  mean,
  ok,
  undefinedMetric,
} from "./types.ts";

export interface AccuracyOptions {
  /** Top-k (metrics.vlmp `accuracy(top:)`); default 1. */
  readonly top?: number;
  /** Evaluate over the first `classes` columns only (UEO: the K known classes); default all. */
  readonly classes?: number;
}

/** 1 where the top-1 prediction (ties → lowest index) equals the label. */
export function correctness(logits: Matrix, labels: ArrayLike<number>, classes?: number): Uint8Array {
  checkLength("accuracy", "labels", labels.length, logits.rows);
  checkLabels("accuracy", labels, logits.cols);
  const pred = predictions(logits, classes);
  const out = new Uint8Array(logits.rows);
  for (let i = 0; i < logits.rows; i++) out[i] = pred[i] === labels[i] ? 1 : 0;
  return out;
}

/** §6.1: (1/n) Σ 1[argmax ℓ_i = y_i]; with `top` = k, the label among the k best (same tie rule). */
export function accuracy(
  logits: Matrix,
  labels: ArrayLike<number>,
  options: AccuracyOptions = {},
): MetricResult {
  const top = options.top ?? 1;
  checkLength("accuracy", "labels", labels.length, logits.rows);
  checkLabels("accuracy", labels, logits.cols);
  if (logits.rows === 0) return undefinedMetric("accuracy", "empty", "accuracy of an empty set is undefined");
  const columns = Math.min(options.classes ?? logits.cols, logits.cols);
  let hits = 0;
  for (let i = 0; i < logits.rows; i++) {
    const y = labels[i]!;
    if (y < columns && rankOf(logits, i, y, columns) < top) hits++;
  }
  return ok(hits / logits.rows);
}

export interface PerClassAccuracies {
  /** correct_c / n_c per class; NaN where n_c = 0. */
  readonly accuracies: readonly number[];
  readonly counts: readonly number[];
  readonly warnings: readonly MetricWarning[];
}

/** Accuracy of each class 0..classes−1 (default all columns); samples with a label ≥ classes are ignored. */
export function perClassAccuracies(
  logits: Matrix,
  labels: ArrayLike<number>,
  options: { readonly classes?: number } = {},
): PerClassAccuracies {
  const classes = Math.min(options.classes ?? logits.cols, logits.cols);
  const correct = correctness(logits, labels, classes);
  const counts = new Array<number>(classes).fill(0);
  const hits = new Array<number>(classes).fill(0);
  for (let i = 0; i < logits.rows; i++) {
    const y = labels[i]!;
    if (y >= classes) continue;
    counts[y]!++;
    hits[y]! += correct[i]!;
  }
  const missing = counts.flatMap((n, c) => (n === 0 ? [c] : []));
  const warnings: MetricWarning[] =
    missing.length > 0
      ? [
          {
            metric: "per_class_accuracy",
            code: "missing-class",
            message: `no samples of class${missing.length > 1 ? "es" : ""} ${missing.join(", ")}; skipped`,
          },
        ]
      : [];
  return { accuracies: counts.map((n, c) => (n === 0 ? Number.NaN : hits[c]! / n)), counts, warnings };
}

/** §6.2: mean over classes with n_c ≥ 1 of correct_c / n_c (UEO's PACC); missing classes warn. */
export function perClassAccuracy(
  logits: Matrix,
  labels: ArrayLike<number>,
  options: { readonly classes?: number } = {},
): MetricResult {
  const { accuracies, warnings } = perClassAccuracies(logits, labels, options);
  const present = accuracies.filter((a) => !Number.isNaN(a));
  if (present.length === 0) {
    return undefinedMetric("per_class_accuracy", "empty", "no class has samples");
  }
  return ok(mean(present), warnings);
}

/**
 * §6.8 TaW: top-1 with the logits restricted to the classes of the sample's true task.
 * `taskOfClass[c]` is the task index of class c.
 */
export function taskAwareAccuracy(
  logits: Matrix,
  labels: ArrayLike<number>,
  taskOfClass: ArrayLike<number>,
): MetricResult {
  checkLength("task_aware_accuracy", "labels", labels.length, logits.rows);
  checkLength("task_aware_accuracy", "taskOfClass", taskOfClass.length, logits.cols);
  checkLabels("task_aware_accuracy", labels, logits.cols);
  if (logits.rows === 0) return undefinedMetric("task_aware_accuracy", "empty", "no samples");
  const byTask = new Map<number, number[]>();
  for (let c = 0; c < logits.cols; c++) {
    const t = taskOfClass[c]!;
    const list = byTask.get(t) ?? [];
    list.push(c);
    byTask.set(t, list);
  }
  let hits = 0;
  for (let i = 0; i < logits.rows; i++) {
    const y = labels[i]!;
    const allowed = byTask.get(taskOfClass[y]!)!;
    if (argmaxRow(logits, i, allowed) === y) hits++;
  }
  return ok(hits / logits.rows);
}

/** Macro-F1 over the classes present in the labels or the predictions (sklearn's `average="macro"`). */
export function macroF1(logits: Matrix, labels: ArrayLike<number>): MetricResult {
  checkLength("macro_f1", "labels", labels.length, logits.rows);
  checkLabels("macro_f1", labels, logits.cols);
  if (logits.rows === 0) return undefinedMetric("macro_f1", "empty", "no samples");
  const pred = predictions(logits);
  const tp = new Array<number>(logits.cols).fill(0);
  const fp = new Array<number>(logits.cols).fill(0);
  const fn = new Array<number>(logits.cols).fill(0);
  for (let i = 0; i < logits.rows; i++) {
    const y = labels[i]!;
    const p = pred[i]!;
    if (p === y) tp[y]!++;
    else {
      fp[p]!++;
      fn[y]!++;
    }
  }
  const f1: number[] = [];
  for (let c = 0; c < logits.cols; c++) {
    const denominator = 2 * tp[c]! + fp[c]! + fn[c]!;
    if (denominator > 0) f1.push((2 * tp[c]!) / denominator);
  }
  return ok(mean(f1));
}
