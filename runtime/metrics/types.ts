// Shared shapes of the metrics (METHODS §6): a row-major logits matrix, a metric value with its warnings,
// and the one error a metric throws (invalid input such as NaN scores or mismatched lengths).
// Degenerate but valid inputs (one class only, empty groups, one task) never throw: the value is NaN and a
// warning says why.

/** A row-major [rows, cols] matrix of logits (or probabilities): samples × classes. */
export interface Matrix {
  readonly data: ArrayLike<number>;
  readonly rows: number;
  readonly cols: number;
}

/** Why a metric is NaN (or rests on fewer samples than expected). */
export interface MetricWarning {
  /** The metric's name as metrics.vlmp declares it, e.g. `auroc`, `worst_group_accuracy`. */
  readonly metric: string;
  readonly code: "one-class" | "no-positives" | "empty" | "empty-group" | "missing-class" | "single-task";
  readonly message: string;
}

export interface MetricResult {
  /** A fraction in [0, 1] for accuracies and areas (NaN when undefined). */
  readonly value: number;
  readonly warnings: readonly MetricWarning[];
}

/** Invalid input: NaN scores, lengths that do not match, labels out of range. */
export class MetricInputError extends Error {
  override readonly name = "MetricInputError";
}

export function matrix(rows: readonly (readonly number[])[]): Matrix {
  const cols = rows[0]?.length ?? 0;
  const data = new Float64Array(rows.length * cols);
  rows.forEach((row, i) => {
    if (row.length !== cols)
      throw new MetricInputError(`row ${i} has ${row.length} values, expected ${cols}`);
    data.set(row, i * cols);
  });
  return { data, rows: rows.length, cols };
}

export function ok(value: number, warnings: readonly MetricWarning[] = []): MetricResult {
  return { value, warnings };
}

export function undefinedMetric(metric: string, code: MetricWarning["code"], message: string): MetricResult {
  return { value: Number.NaN, warnings: [{ metric, code, message }] };
}

export function checkLength(metric: string, what: string, actual: number, expected: number): void {
  if (actual !== expected) {
    throw new MetricInputError(`${metric}: ${what} has ${actual} entries, expected ${expected}`);
  }
}

export function checkLabels(metric: string, labels: ArrayLike<number>, classes: number): void {
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i]!;
    if (!Number.isInteger(y) || y < 0 || y >= classes) {
      throw new MetricInputError(
        `${metric}: label ${y} of sample ${i} is not a class index in [0, ${classes})`,
      );
    }
  }
}

export function mean(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  let s = 0;
  for (const v of values) s += v;
  return s / values.length;
}
