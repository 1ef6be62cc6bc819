// Continual-learning metrics (METHODS §6.8) over the task-accuracy matrix a[t][k] = accuracy on task k's test
// split after training on task t (0-based here; rows need entries for k ≤ t, later entries are ignored).
//   Last_t = (1/t) Σ_{k≤t} a_{t,k}          "Last" = Last_T
//   Avg    = (1/T) Σ_t Last_t               average incremental accuracy
//   BwT_T  = (1/(T−1)) Σ_{k<T} (a_{T,k} − a_{k,k})
//   F_T    = (1/(T−1)) Σ_{k<T} max_{l∈[k,T−1]} (a_{l,k} − a_{T,k})
// (indices 1-based as in METHODS). T = 1 → BwT and F are NaN with a warning; T = 0 → every metric NaN.

import { MetricInputError, type MetricResult, mean, ok, undefinedMetric } from "./types.ts";

export type TaskMatrix = readonly (readonly number[])[];

function check(metric: string, a: TaskMatrix): void {
  a.forEach((row, t) => {
    if (row.length < t + 1) {
      throw new MetricInputError(
        `${metric}: row ${t} of the task matrix has ${row.length} entries, needs ${t + 1}`,
      );
    }
  });
}

/** Last_t for t = 1..T. */
export function lastAccuracies(a: TaskMatrix): number[] {
  check("last_accuracy", a);
  return a.map((row, t) => mean(row.slice(0, t + 1)));
}

export function lastAccuracy(a: TaskMatrix): MetricResult {
  if (a.length === 0) return undefinedMetric("last_accuracy", "empty", "no tasks");
  return ok(lastAccuracies(a).at(-1)!);
}

export function averageAccuracy(a: TaskMatrix): MetricResult {
  if (a.length === 0) return undefinedMetric("average_accuracy", "empty", "no tasks");
  return ok(mean(lastAccuracies(a)));
}

/** BwT_t for the sequence truncated after task t (t ≥ 2, 1-based): the backward transfer at every step. */
export function backwardTransfers(a: TaskMatrix): number[] {
  check("backward_transfer", a);
  return a.map((row, t) => {
    if (t === 0) return Number.NaN;
    let s = 0;
    for (let k = 0; k < t; k++) s += row[k]! - a[k]![k]!;
    return s / t;
  });
}

export function backwardTransfer(a: TaskMatrix): MetricResult {
  if (a.length < 2)
    return undefinedMetric("backward_transfer", "single-task", `BwT needs ≥ 2 tasks, got ${a.length}`);
  return ok(backwardTransfers(a).at(-1)!);
}

export function forgetting(a: TaskMatrix): MetricResult {
  check("forgetting", a);
  const T = a.length;
  if (T < 2) return undefinedMetric("forgetting", "single-task", `forgetting needs ≥ 2 tasks, got ${T}`);
  const last = a[T - 1]!;
  let s = 0;
  for (let k = 0; k < T - 1; k++) {
    let best = Number.NEGATIVE_INFINITY;
    for (let l = k; l < T - 1; l++) best = Math.max(best, a[l]![k]! - last[k]!);
    s += best;
  }
  return ok(s / (T - 1));
}
