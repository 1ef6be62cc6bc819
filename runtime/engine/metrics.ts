// The evaluate block's `metrics` (call values of stdlib/metrics.vlmp) computed with runtime/metrics over the
// block's output [N, C]. Unknown-class samples (labels ≥ C, METHODS §1.1) count only where a metric is about
// them (AUROC, AUPR, FPR95 with `positive: known`); accuracies, ECE and group metrics read the known-class
// samples (METHODS §1.6: per-class accuracy on known classes).

import { isJsonObject, type JsonObject, type JsonValue } from "../../compiler/values.ts";
import {
  accuracy,
  adjustedAverage,
  aupr,
  auroc,
  ece,
  fpr95,
  harmonicMean,
  knownMask,
  type Matrix,
  type MetricResult,
  type MetricWarning,
  macroF1,
  oodScores,
  perClassAccuracy,
  perGroupAccuracy,
  type ReliabilityDiagram,
  reliabilityDiagram,
  type ScoreKind,
  worstGroupAccuracy,
} from "../metrics/index.ts";
import { RunError } from "./errors.ts";

export interface EvalOutputs {
  /** The block's output, N × C. */
  readonly output: Matrix;
  readonly labels: ArrayLike<number>;
  readonly groups?: ArrayLike<number> | undefined;
  /** The evaluate block's batch size (ECE per batch). */
  readonly batch: number;
}

export interface ComputedMetrics {
  /** Metric values by name (`accuracy`, `auroc`, …; `auroc(score: energy)` when a name repeats). */
  readonly values: Record<string, number>;
  readonly warnings: readonly MetricWarning[];
  readonly diagrams: readonly { name: string; diagram: ReliabilityDiagram }[];
}

function shortName(call: JsonObject): string {
  const full = String(call["$call"]);
  return full.slice(full.lastIndexOf(".") + 1);
}

function argText(v: JsonValue): string {
  if (isJsonObject(v) && "$symbol" in v) return String(v["$symbol"]);
  if (isJsonObject(v) && "$call" in v)
    return `${shortName(v)}(${Object.entries((v["args"] ?? {}) as JsonObject)
      .map(([k, a]) => `${k}: ${argText(a)}`)
      .join(", ")})`;
  return JSON.stringify(v);
}

/** Names of the metrics of a list: the bare name, or name(args) where two share a name. */
export function metricNames(calls: readonly JsonValue[]): string[] {
  const bare = calls.map((c) => (isJsonObject(c) ? shortName(c) : String(c)));
  return calls.map((c, i) => {
    if (bare.filter((b) => b === bare[i]).length === 1 || !isJsonObject(c)) return bare[i]!;
    const args = Object.entries((c["args"] ?? {}) as JsonObject).map(([k, a]) => `${k}: ${argText(a)}`);
    return `${bare[i]}(${args.join(", ")})`;
  });
}

const sym = (args: JsonObject, k: string, fallback: string) => {
  const v = args[k];
  return isJsonObject(v) && "$symbol" in v ? String(v["$symbol"]) : typeof v === "string" ? v : fallback;
};
const num = (args: JsonObject, k: string, fallback: number) =>
  typeof args[k] === "number" ? (args[k] as number) : fallback;

/** The rows of `m` whose label is a known class (< C). */
function knownRows(o: EvalOutputs): { m: Matrix; labels: number[]; groups?: number[] } {
  const C = o.output.cols;
  const rows: number[] = [];
  for (let i = 0; i < o.labels.length; i++) if (o.labels[i]! < C) rows.push(i);
  if (rows.length === o.labels.length) {
    return {
      m: o.output,
      labels: Array.from(o.labels),
      ...(o.groups ? { groups: Array.from(o.groups) } : {}),
    };
  }
  const data = new Float64Array(rows.length * C);
  rows.forEach((r, k) => {
    for (let c = 0; c < C; c++) data[k * C + c] = o.output.data[r * C + c]!;
  });
  return {
    m: { data, rows: rows.length, cols: C },
    labels: rows.map((r) => o.labels[r]!),
    ...(o.groups ? { groups: rows.map((r) => o.groups![r]!) } : {}),
  };
}

export function computeMetrics(calls: readonly JsonValue[], o: EvalOutputs): ComputedMetrics {
  const names = metricNames(calls);
  const values: Record<string, number> = {};
  const warnings: MetricWarning[] = [];
  const diagrams: { name: string; diagram: ReliabilityDiagram }[] = [];
  const known = knownRows(o);
  const needGroups = (name: string): number[] => {
    if (!known.groups) throw new RunError(`${name} needs group labels: the evaluated source has none`);
    return known.groups;
  };
  const one = (call: JsonValue, name: string): MetricResult => {
    if (!isJsonObject(call) || !("$call" in call))
      throw new RunError(`metric ${JSON.stringify(call)} is not a metric call`);
    const args = (call["args"] ?? {}) as JsonObject;
    const kind = shortName(call);
    switch (kind) {
      case "accuracy":
        return accuracy(known.m, known.labels, { top: num(args, "top", 1) });
      case "mean_accuracy":
        return accuracy(known.m, known.labels);
      case "per_class_accuracy":
        return perClassAccuracy(known.m, known.labels);
      case "macro_f1":
        return macroF1(known.m, known.labels);
      case "per_group_accuracy": {
        const per = perGroupAccuracy(known.m, known.labels, needGroups(name));
        per.accuracies.forEach((a, g) => {
          values[`${name}.${g}`] = a;
        });
        const counted = per.accuracies.filter((_, g) => per.counts[g]! > 0);
        return {
          value: counted.reduce((s, a) => s + a, 0) / Math.max(1, counted.length),
          warnings: per.warnings,
        };
      }
      case "worst_group_accuracy":
        return worstGroupAccuracy(perGroupAccuracy(known.m, known.labels, needGroups(name)));
      case "adjusted_average": {
        const counts = (args["train_counts"] as JsonValue[] | undefined)?.map(Number) ?? [];
        return adjustedAverage(perGroupAccuracy(known.m, known.labels, needGroups(name)), counts);
      }
      case "auroc":
      case "aupr":
      case "fpr95": {
        const scores = oodScores(o.output, {
          score: sym(args, "score", "msp") as ScoreKind,
          temperature: num(args, "temperature", 1),
        });
        const positive = knownMask(o.labels, o.output.cols);
        if (kind === "auroc") return auroc(scores, positive);
        if (kind === "aupr") return aupr(scores, positive);
        return fpr95(scores, positive, { mode: sym(args, "mode", "atLeast") as "atLeast" });
      }
      case "ece":
        return ece(known.m, known.labels, {
          bins: num(args, "bins", 15),
          mode: sym(args, "mode", "pooled") as "pooled",
          batch: o.batch,
        });
      case "reliability_diagram": {
        const diagram = reliabilityDiagram(known.m, known.labels, num(args, "bins", 15));
        diagrams.push({ name, diagram });
        return { value: diagram.ece, warnings: [] };
      }
      case "harmonic_mean": {
        const a = one(args["a"]!, `${name}.a`);
        const b = one(args["b"]!, `${name}.b`);
        return harmonicMean(a.value, b.value);
      }
      default:
        throw new RunError(`the metric '${kind}' is not computed by evaluate blocks yet`);
    }
  };
  calls.forEach((call, i) => {
    const r = one(call, names[i]!);
    values[names[i]!] = r.value;
    warnings.push(...r.warnings);
  });
  return { values, warnings, diagrams };
}
