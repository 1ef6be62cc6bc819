// Grouping runs into the table a paper prints: method × data set × metric, mean ± sample std over the runs
// (seeds) of a row. NaN (stored as null) values are left out of a cell's mean and counted; a cell whose
// every value is NaN is n/a. Δ = after − before per run (runs that have both), then mean ± std.
// Base-to-novel (METHODS §6.9): per data set HM(mean base, mean novel) over seeds; across data sets both
// conventions, labelled: the mean of the per-data-set HMs (APEX) and the HM of the mean base and mean novel
// accuracies (CoOp/CoCoOp).

import { hm } from "../metrics/harmonic.ts";
import type { Collected, RunRecord, Skipped, Stage } from "./collect.ts";

export type StageOption = Stage | "both";

export interface ReportOptions {
  /** Keep only these metrics (by summary key or by the name without its split), in this order. */
  readonly metrics?: readonly string[];
  /** Keep only metrics of this evaluate split, shown without the `split.` prefix. */
  readonly split?: string;
  /** Default "both": before, after and Δ where any run has `before`, otherwise after only. */
  readonly stage?: StageOption;
}

/** mean ± sample std over the defined values; n counts them, nan the NaN ones left out. */
export interface Cell {
  readonly mean: number;
  readonly std: number;
  readonly n: number;
  readonly nan: number;
}

export type Unit = "fraction" | "value";

export interface Row {
  readonly method: string;
  readonly dataset: string;
  /** As shown: the summary key, or without the split prefix under --split. */
  readonly metric: string;
  readonly unit: Unit;
  /** Runs (seeds) in the row. */
  readonly runs: number;
  readonly seeds: readonly number[];
  readonly before?: Cell;
  readonly after?: Cell;
  readonly delta?: Cell;
}

export interface BaseNovelDataset {
  readonly dataset: string;
  readonly base: Cell;
  readonly novel: Cell;
  /** HM of the seed means. */
  readonly hm: number;
}

export interface BaseNovel {
  readonly method: string;
  readonly stage: Stage;
  readonly datasets: readonly BaseNovelDataset[];
  readonly base: number;
  readonly novel: number;
  /** (1/D) Σ_d HM(B_d, N_d): APEX's tables. */
  readonly meanOfHms: number;
  /** HM(mean_d B_d, mean_d N_d): CoOp/CoCoOp. */
  readonly hmOfMeans: number;
}

export interface Report {
  readonly runs: number;
  readonly methods: readonly string[];
  readonly datasets: readonly string[];
  /** Which stage columns the table has. */
  readonly stages: readonly Stage[];
  readonly showDelta: boolean;
  readonly rows: readonly Row[];
  readonly baseNovel: readonly BaseNovel[];
  readonly skipped: readonly Skipped[];
  readonly notes: readonly string[];
}

export function cell(values: readonly number[]): Cell {
  const defined = values.filter((v) => Number.isFinite(v));
  const n = defined.length;
  const nan = values.length - n;
  if (n === 0) return { mean: Number.NaN, std: Number.NaN, n, nan };
  const mean = defined.reduce((s, v) => s + v, 0) / n;
  const std = n < 2 ? Number.NaN : Math.sqrt(defined.reduce((s, v) => s + (v - mean) ** 2, 0) / (n - 1));
  return { mean, std, n, nan };
}

const NOT_FRACTION =
  /loss|nll|perplexity|energy|seconds|time|epoch|step|count|images|per_second|(^|_)lr($|_)|temperature|logit_scale|^n$|^n_/;

/** Method labels: the pipeline name, `name@fingerprint` where one name has several fingerprints. */
function methodLabels(runs: readonly RunRecord[]): Map<RunRecord, string> {
  const prints = new Map<string, Set<string>>();
  for (const r of runs) {
    if (r.fingerprint === "") continue;
    const set = prints.get(r.pipeline) ?? new Set();
    set.add(r.fingerprint);
    prints.set(r.pipeline, set);
  }
  return new Map(
    runs.map((r) => [
      r,
      (prints.get(r.pipeline)?.size ?? 0) > 1 && r.fingerprint !== ""
        ? `${r.pipeline}@${r.fingerprint}`
        : r.pipeline,
    ]),
  );
}

interface Group {
  method: string;
  dataset: string;
  metric: string;
  seeds: number[];
  before: number[];
  after: number[];
  delta: number[];
}

export function buildReport(collected: Collected, options: ReportOptions = {}): Report {
  const { runs, skipped } = collected;
  const notes = [...collected.notes];
  const labels = methodLabels(runs);
  const wanted = options.metrics && options.metrics.length > 0 ? options.metrics : null;
  const groups = new Map<string, Group>();
  const metricOrder: string[] = [];
  for (const run of runs) {
    const method = labels.get(run)!;
    for (const m of run.metrics) {
      if (options.split !== undefined && m.split !== null && m.split !== options.split) continue;
      const shown = options.split !== undefined ? m.metric : m.key;
      if (wanted && !wanted.includes(shown) && !wanted.includes(m.metric) && !wanted.includes(m.key))
        continue;
      if (!metricOrder.includes(shown)) metricOrder.push(shown);
      const id = JSON.stringify([method, m.dataset, shown]);
      let g = groups.get(id);
      if (!g) {
        g = { method, dataset: m.dataset, metric: shown, seeds: [], before: [], after: [], delta: [] };
        groups.set(id, g);
      }
      if (g.seeds.includes(run.seed)) {
        notes.push(`${method} on ${m.dataset}: seed ${run.seed} appears more than once (${run.path})`);
      }
      g.seeds.push(run.seed);
      if (m.before !== undefined) g.before.push(m.before);
      if (m.after !== undefined) g.after.push(m.after);
      if (m.before !== undefined && m.after !== undefined) g.delta.push(m.after - m.before);
    }
  }
  const rank = (metric: string): number => {
    if (!wanted) return metricOrder.indexOf(metric);
    const i = wanted.findIndex((w) => w === metric || metric.endsWith(`.${w}`));
    return i < 0 ? wanted.length : i;
  };
  const sorted = [...groups.values()].sort(
    (a, b) =>
      compare(a.method, b.method) ||
      compare(a.dataset, b.dataset) ||
      rank(a.metric) - rank(b.metric) ||
      compare(a.metric, b.metric),
  );

  const stage = options.stage ?? "both";
  const anyBefore = sorted.some((g) => g.before.length > 0);
  const stages: Stage[] =
    stage === "before"
      ? ["before"]
      : stage === "after"
        ? ["after"]
        : anyBefore
          ? ["before", "after"]
          : ["after"];
  const showDelta = stages.length === 2;
  const rows: Row[] = [];
  for (const g of sorted) {
    const all = [...g.before, ...g.after].filter((v) => Number.isFinite(v));
    const leaf = g.metric.slice(g.metric.lastIndexOf(".") + 1);
    const unit: Unit = !NOT_FRACTION.test(leaf) && all.every((v) => v >= -1 && v <= 1) ? "fraction" : "value";
    if (stages.every((s) => (s === "before" ? g.before : g.after).length === 0)) continue;
    rows.push({
      method: g.method,
      dataset: g.dataset,
      metric: g.metric,
      unit,
      runs: g.seeds.length,
      seeds: [...g.seeds].sort((a, b) => a - b),
      ...(stages.includes("before") && g.before.length > 0 ? { before: cell(g.before) } : {}),
      ...(stages.includes("after") && g.after.length > 0 ? { after: cell(g.after) } : {}),
      ...(showDelta && g.delta.length > 0 ? { delta: cell(g.delta) } : {}),
    });
  }

  return {
    runs: runs.length,
    methods: unique(rows.map((r) => r.method)),
    datasets: unique(rows.map((r) => r.dataset)).sort(compare),
    stages,
    showDelta,
    rows,
    baseNovel: baseNovel(runs, labels, stage === "before" ? "before" : "after"),
    skipped,
    notes: unique(notes),
  };
}

function unique(values: readonly string[]): string[] {
  return [...new Set(values)];
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The base and novel accuracy of a run's metric map, if it carries both: keys `base` / `novel` with a common
 * prefix (`base`, `base_novel.base`), `base_accuracy` / `novel_accuracy`, or `test.accuracy` /
 * `novel_test.accuracy` (the base-to-novel layout of pipelines/apex.vlmp).
 */
export function baseNovelOf(
  map: Record<string, number | null> | undefined,
): { base: number; novel: number } | null {
  if (!map) return null;
  const get = (k: string) => (k in map ? (map[k] ?? Number.NaN) : undefined);
  for (const k of Object.keys(map)) {
    const m = /^(.*\.)?base(_accuracy)?$/.exec(k);
    if (!m) continue;
    const novel = get(`${m[1] ?? ""}novel${m[2] ?? ""}`);
    if (novel !== undefined) return { base: get(k)!, novel };
  }
  const base = get("test.accuracy");
  const novel = get("novel_test.accuracy");
  return base !== undefined && novel !== undefined ? { base, novel } : null;
}

function baseNovel(runs: readonly RunRecord[], labels: Map<RunRecord, string>, stage: Stage): BaseNovel[] {
  const byMethod = new Map<string, Map<string, { base: number[]; novel: number[] }>>();
  for (const run of runs) {
    const bn = baseNovelOf(stage === "before" ? run.before : run.after);
    if (!bn) continue;
    const method = labels.get(run)!;
    const dataset =
      run.metrics.find((m) => m.split === "test")?.dataset ?? run.metrics[0]?.dataset ?? "unknown";
    const datasets = byMethod.get(method) ?? new Map();
    byMethod.set(method, datasets);
    const d = datasets.get(dataset) ?? { base: [], novel: [] };
    datasets.set(dataset, d);
    d.base.push(bn.base);
    d.novel.push(bn.novel);
  }
  const out: BaseNovel[] = [];
  for (const method of [...byMethod.keys()].sort(compare)) {
    const datasets = [...byMethod.get(method)!.entries()]
      .sort(([a], [b]) => compare(a, b))
      .map(([dataset, d]) => {
        const base = cell(d.base);
        const novel = cell(d.novel);
        return { dataset, base, novel, hm: hmOrNaN(base.mean, novel.mean) };
      });
    const mean = (xs: number[]) => xs.reduce((s, v) => s + v, 0) / xs.length;
    const B = mean(datasets.map((d) => d.base.mean));
    const N = mean(datasets.map((d) => d.novel.mean));
    out.push({
      method,
      stage,
      datasets,
      base: B,
      novel: N,
      meanOfHms: mean(datasets.map((d) => d.hm)),
      hmOfMeans: hmOrNaN(B, N),
    });
  }
  return out;
}

function hmOrNaN(a: number, b: number): number {
  return Number.isFinite(a) && Number.isFinite(b) ? hm(a, b) : Number.NaN;
}
