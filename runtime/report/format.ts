// Printing a Report: `md` (GitHub tables with labelled units and footnotes), `csv` (one row per method,
// data set, metric and stage, with mean, std, n) and `json` (the same rows as objects, plus the runs
// counted and skipped). md shows fractions as percentages (the metric says "(%)"); csv and json keep the
// numbers as stored (fractions, `unit: "fraction"`), NaN as an empty cell / null, std empty / null for n < 2.

import type { BaseNovel, Cell, Report, Row } from "./aggregate.ts";

export type ReportFormat = "md" | "csv" | "json";

/** One csv line / json object. */
export interface FlatRow {
  readonly method: string;
  readonly dataset: string;
  readonly metric: string;
  /** before | after | delta (after − before per run). */
  readonly stage: string;
  readonly mean: number | null;
  readonly std: number | null;
  readonly n: number;
  /** Runs whose value was NaN (left out of mean and n). */
  readonly nan: number;
  readonly unit: "fraction" | "value";
}

export function formatReport(report: Report, format: ReportFormat): string {
  if (format === "json") return `${JSON.stringify(toJson(report), null, 2)}\n`;
  if (format === "csv") return toCsv(report);
  return toMarkdown(report);
}

// --- flat rows (csv, json) ------------------------------------------------------------------------------

const num = (v: number): number | null => (Number.isFinite(v) ? Number(v.toPrecision(12)) : null);

function flat(
  method: string,
  dataset: string,
  metric: string,
  stage: string,
  c: Cell,
  unit: FlatRow["unit"],
) {
  return { method, dataset, metric, stage, mean: num(c.mean), std: num(c.std), n: c.n, nan: c.nan, unit };
}

export function flatRows(report: Report): FlatRow[] {
  const out: FlatRow[] = [];
  for (const r of report.rows) {
    for (const stage of ["before", "after", "delta"] as const) {
      const c = r[stage];
      if (c) out.push(flat(r.method, r.dataset, r.metric, stage, c, r.unit));
    }
  }
  for (const bn of report.baseNovel) {
    const point = (v: number, n: number): Cell => ({ mean: v, std: Number.NaN, n, nan: 0 });
    for (const d of bn.datasets) {
      const seeds = Math.min(d.base.n, d.novel.n);
      out.push(flat(bn.method, d.dataset, "base_novel.base", bn.stage, d.base, "fraction"));
      out.push(flat(bn.method, d.dataset, "base_novel.novel", bn.stage, d.novel, "fraction"));
      out.push(flat(bn.method, d.dataset, "base_novel.hm", bn.stage, point(d.hm, seeds), "fraction"));
    }
    const D = bn.datasets.length;
    out.push(flat(bn.method, "average", "base_novel.base", bn.stage, point(bn.base, D), "fraction"));
    out.push(flat(bn.method, "average", "base_novel.novel", bn.stage, point(bn.novel, D), "fraction"));
    out.push(
      flat(bn.method, "average", "base_novel.hm_mean_of_hms", bn.stage, point(bn.meanOfHms, D), "fraction"),
    );
    out.push(
      flat(bn.method, "average", "base_novel.hm_of_means", bn.stage, point(bn.hmOfMeans, D), "fraction"),
    );
  }
  return out;
}

function toJson(report: Report) {
  return {
    runs: report.runs,
    skipped: report.skipped,
    notes: report.notes,
    rows: flatRows(report),
  };
}

const CSV_COLUMNS = ["method", "dataset", "metric", "stage", "mean", "std", "n", "nan", "unit"] as const;

function csvField(v: string | number | null): string {
  const s = v === null ? "" : String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function toCsv(report: Report): string {
  const lines = [CSV_COLUMNS.join(",")];
  for (const r of flatRows(report)) lines.push(CSV_COLUMNS.map((c) => csvField(r[c])).join(","));
  return `${lines.join("\n")}\n`;
}

// --- markdown -------------------------------------------------------------------------------------------

function value(v: number, unit: Row["unit"], signed = false): string {
  const s = unit === "fraction" ? (v * 100).toFixed(2) : raw(v);
  return signed && v >= 0 ? `+${s}` : s;
}

function raw(v: number): string {
  const a = Math.abs(v);
  return a !== 0 && (a >= 1e5 || a < 1e-3) ? v.toExponential(3) : v.toFixed(4);
}

interface Marks {
  na: boolean;
  partial: boolean;
}

function cellText(c: Cell | undefined, unit: Row["unit"], marks: Marks, signed = false): string {
  if (!c) return "";
  if (c.n === 0) {
    marks.na = true;
    return "n/a";
  }
  let s = value(c.mean, unit, signed);
  if (c.n >= 2) s += ` ± ${value(c.std, unit)}`;
  if (c.nan > 0) {
    marks.partial = true;
    s += ` (n=${c.n})†`;
  }
  return s;
}

function escapeMd(s: string): string {
  return s.replace(/\|/g, "\\|");
}

/** A GitHub table; columns from `numeric` on are right-aligned. */
function table(header: readonly string[], rows: readonly (readonly string[])[], numeric: number): string[] {
  return [
    `| ${header.join(" | ")} |`,
    `|${header.map((_, i) => (i >= numeric ? "---:" : "---")).join("|")}|`,
    ...rows.map((r) => `| ${r.map(escapeMd).join(" | ")} |`),
  ];
}

function toMarkdown(report: Report): string {
  const marks: Marks = { na: false, partial: false };
  const lines: string[] = [];
  const stageName = { before: "Before", after: "After" } as const;
  if (report.rows.length === 0) {
    lines.push("No metrics to report.");
  } else {
    const header = ["Method", "Data set", "Metric", ...report.stages.map((s) => stageName[s])];
    if (report.showDelta) header.push("Δ");
    header.push("n");
    const body = report.rows.map((r) => {
      const cells = [r.method, r.dataset, r.unit === "fraction" ? `${r.metric} (%)` : r.metric];
      for (const s of report.stages) cells.push(cellText(r[s], r.unit, marks));
      if (report.showDelta) cells.push(cellText(r.delta, r.unit, marks, true));
      cells.push(String(r.runs));
      return cells;
    });
    lines.push(...table(header, body, 3));
  }
  for (const bn of report.baseNovel) lines.push("", ...baseNovelTable(bn, marks));

  const notes = [
    "Mean ± sample std over seeds; n = runs (seeds) per row; a single run shows no ±. (%) = fraction × 100.",
  ];
  if (report.showDelta) {
    notes.push("Δ = after − before per run, then mean ± std (percentage points for %).");
  }
  notes.push(
    "Method = pipeline name; runs that differ only by seed share a row (name@hash: same name, other settings).",
  );
  if (marks.na) notes.push("n/a: undefined (NaN) in every run, e.g. AUROC with only one class present.");
  if (marks.partial) notes.push("†: NaN in some runs; mean and std over the n runs where it is defined.");
  if (report.skipped.length > 0) {
    const s = report.skipped.length;
    notes.push(
      `Skipped ${s} summar${s === 1 ? "y" : "ies"} (missing, malformed or unfinished; paths on stderr).`,
    );
  }
  lines.push("", ...notes.map((n) => `- ${n}`));
  return `${lines.join("\n")}\n`;
}

function baseNovelTable(bn: BaseNovel, marks: Marks): string[] {
  const D = bn.datasets.length;
  const pct = (v: number) => {
    if (Number.isFinite(v)) return value(v, "fraction");
    marks.na = true;
    return "n/a";
  };
  const rows = bn.datasets.map((d) => [
    bn.method,
    d.dataset,
    cellText(d.base, "fraction", marks),
    cellText(d.novel, "fraction", marks),
    pct(d.hm),
  ]);
  const avg = `average of ${D} data set${D === 1 ? "" : "s"}`;
  rows.push([bn.method, `${avg}, mean of HMs (APEX)`, pct(bn.base), pct(bn.novel), pct(bn.meanOfHms)]);
  rows.push([bn.method, `${avg}, HM of means (CoOp/CoCoOp)`, pct(bn.base), pct(bn.novel), pct(bn.hmOfMeans)]);
  return [
    `Base-to-novel accuracy (%), ${bn.stage}: HM per data set of the seed-mean base and novel accuracies; ` +
      "across data sets both conventions (METHODS §6.9).",
    "",
    ...table(["Method", "Data set", "Base", "Novel", "HM"], rows, 2),
  ];
}
