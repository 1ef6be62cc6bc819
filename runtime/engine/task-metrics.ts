// The metrics of a task sequence's evaluate block (METHODS §2.6, §6.8). After task t the model's output over
// every task's test images (rows in task order) and all classes (columns in sequence order) gives: a_{t,k},
// the accuracy on task k ≤ t over the n_t seen classes (the first n_t columns); the task-aware accuracy with
// the columns restricted to task k's own classes; the block's other metrics over the seen tasks' images and
// the seen classes — and, for t < T with `novelty`, the future tasks' images as out-of-distribution rows (a
// label ≥ n_t, so the OOD metrics take the seen tasks' images as positive). Over the whole sequence: Avg,
// Last, BwT, forgetting and TaW from the matrices, the OOD metrics' mean over the steps that have them, the
// rest as after the last task.

import type { JsonValue } from "../../compiler/values.ts";
import {
  averageAccuracy,
  backwardTransfer,
  forgetting,
  lastAccuracy,
  type TaskMatrix,
} from "../metrics/continual.ts";
import { accuracy, type Matrix, type MetricResult, type MetricWarning } from "../metrics/index.ts";
import { mean } from "../metrics/types.ts";
import { RunError } from "./errors.ts";
import { computeMetrics, metricNames } from "./metrics.ts";
import { seenClasses, type TaskSequence } from "./sequence.ts";

type Obj = { readonly [key: string]: JsonValue };

/** Metrics of the whole sequence, computed from the accuracy matrices. */
const SEQUENCE_METRICS: Readonly<Record<string, (a: TaskMatrix, taw: TaskMatrix) => MetricResult>> = {
  average_accuracy: (a) => averageAccuracy(a),
  last_accuracy: (a) => lastAccuracy(a),
  backward_transfer: (a) => backwardTransfer(a),
  forgetting: (a) => forgetting(a),
  task_aware_accuracy: (_, taw) => lastAccuracy(taw),
};
/** Metrics of novel-data detection: future tasks' images as the negatives. */
const NOVELTY_METRICS = new Set(["auroc", "aupr", "fpr95"]);

const kindOf = (call: JsonValue): string =>
  String((call as Obj)["$call"])
    .split(".")
    .pop()!;

export interface StepMetrics {
  /** a_{t,k} for k ≤ t. */
  readonly accuracies: number[];
  /** Task-aware accuracies for k ≤ t. */
  readonly taskAware: number[];
  /** The record of the step: its metrics, `accuracy.taskK`, `task_aware_accuracy.taskK`, Last_t. */
  readonly values: Record<string, number>;
  readonly warnings: readonly MetricWarning[];
}

/** Rows [r0, r1) and columns [c0, c1) of `m`. */
function block(m: Matrix, r0: number, r1: number, c0: number, c1: number): Matrix {
  const cols = c1 - c0;
  const data = new Float64Array((r1 - r0) * cols);
  for (let r = r0; r < r1; r++)
    for (let c = c0; c < c1; c++) data[(r - r0) * cols + c - c0] = m.data[r * m.cols + c]!;
  return { data, rows: r1 - r0, cols };
}

/** Checks the block's metric list: every metric is one a task sequence computes. */
export function checkTaskMetrics(calls: readonly JsonValue[], novelty: boolean): void {
  for (const call of calls) {
    const kind = kindOf(call);
    if (NOVELTY_METRICS.has(kind) && !novelty) {
      throw new RunError(
        `tasks.evaluate: ${kind}() needs out-of-distribution images: set tasks.novelty = true (future tasks' test images) or drop it`,
      );
    }
  }
}

/** The first row of each task's test images in the concatenated rows, and the end. */
export function testOffsets(sequence: TaskSequence): number[] {
  const offsets = [0];
  for (const items of sequence.test) offsets.push(offsets.at(-1)! + items.length);
  return offsets;
}

/**
 * The metrics after task t (0-based) from `output`: every task's test images (rows, in task order) over all
 * classes of the sequence (columns).
 */
export function stepMetrics(
  sequence: TaskSequence,
  output: Matrix,
  t: number,
  calls: readonly JsonValue[],
  options: { novelty: boolean; batch: number },
): StepMetrics {
  const offsets = testOffsets(sequence);
  const n = seenClasses(sequence, t);
  const T = sequence.sizes.length;
  const labels = sequence.test.flatMap((items) => items.map((it) => it.label));
  const accuracies: number[] = [];
  const taskAware: number[] = [];
  const warnings: MetricWarning[] = [];
  const values: Record<string, number> = {};
  for (let k = 0; k <= t; k++) {
    const [r0, r1] = [offsets[k]!, offsets[k + 1]!];
    const rows = labels.slice(r0, r1);
    accuracies.push(accuracy(block(output, r0, r1, 0, n), rows).value);
    const start = sequence.starts[k]!;
    const own = block(output, r0, r1, start, start + sequence.sizes[k]!);
    taskAware.push(
      accuracy(
        own,
        rows.map((y) => y - start),
      ).value,
    );
  }
  const withFuture = options.novelty && t < T - 1;
  const end = withFuture ? offsets[T]! : offsets[t + 1]!;
  const stepCalls = calls.filter(
    (c) => !(kindOf(c) in SEQUENCE_METRICS) && (withFuture || !NOVELTY_METRICS.has(kindOf(c))),
  );
  const names = metricNames(calls);
  const computed = computeMetrics(stepCalls, {
    output: block(output, 0, end, 0, n),
    labels: labels.slice(0, end),
    batch: options.batch,
  });
  warnings.push(...computed.warnings);
  // computeMetrics names by the calls it is given: keep the names of the whole list.
  const stepNames = metricNames(stepCalls);
  stepNames.forEach((name, i) => {
    values[names[calls.indexOf(stepCalls[i]!)]!] = computed.values[name]!;
  });
  calls.forEach((c, i) => {
    if (kindOf(c) === "last_accuracy") values[names[i]!] = mean(accuracies);
    if (kindOf(c) === "task_aware_accuracy") values[names[i]!] = mean(taskAware);
  });
  accuracies.forEach((a, k) => {
    values[`accuracy.task${k + 1}`] = a;
  });
  if (calls.some((c) => kindOf(c) === "task_aware_accuracy")) {
    taskAware.forEach((a, k) => {
      values[`task_aware_accuracy.task${k + 1}`] = a;
    });
  }
  return { accuracies, taskAware, values, warnings };
}

/** The sequence's metrics (summary `after`) from the steps' results, in the order of the block's list. */
export function sequenceMetrics(
  steps: readonly StepMetrics[],
  calls: readonly JsonValue[],
): { values: Record<string, number>; warnings: MetricWarning[] } {
  const a = steps.map((s) => s.accuracies);
  const taw = steps.map((s) => s.taskAware);
  const values: Record<string, number> = {};
  const warnings: MetricWarning[] = [];
  metricNames(calls).forEach((name, i) => {
    const kind = kindOf(calls[i]!);
    const whole = SEQUENCE_METRICS[kind];
    if (whole) {
      const r = whole(a, taw);
      values[name] = r.value;
      warnings.push(...r.warnings);
    } else if (NOVELTY_METRICS.has(kind)) {
      const per = steps.filter((s) => name in s.values).map((s) => s.values[name]!);
      if (per.length === 0) {
        warnings.push({
          metric: kind,
          code: "single-task",
          message: `${name}: no step has future tasks (T = ${steps.length}), so no novelty detection`,
        });
      }
      values[name] = per.length > 0 ? mean(per) : Number.NaN;
    } else values[name] = steps.at(-1)!.values[name]!;
  });
  return { values, warnings };
}
