// `vlmp report RUN_DIR|RUNS_ROOT... [--format md|json|csv] [--metrics a,b] [--split test]
// [--stage after|before|both]`: the table a paper prints (method × data set × metric, mean ± std over
// seeds) from the summary.json files of run directories (runtime/report). Skipped summaries (missing,
// malformed, unfinished) are listed on stderr with their paths and counted; they never stop the report.
// Exit 0 when at least one run was read, 1 when none was.

import {
  buildReport,
  collectRuns,
  formatReport,
  type ReportFormat,
  type StageOption,
} from "../../runtime/report/index.ts";

export interface ReportCommandOptions {
  format?: ReportFormat;
  metrics?: string;
  split?: string;
  stage?: StageOption;
}

export function runReport(paths: string[], options: ReportCommandOptions): number {
  const collected = collectRuns(paths);
  for (const s of collected.skipped) process.stderr.write(`vlmp: skipped ${s.path}: ${s.reason}\n`);
  for (const n of collected.notes) process.stderr.write(`vlmp: note: ${n}\n`);
  if (collected.runs.length === 0) {
    process.stderr.write(`vlmp: error: no run summaries to report (${collected.skipped.length} skipped)\n`);
    return 1;
  }
  const metrics = options.metrics
    ?.split(",")
    .map((m) => m.trim())
    .filter((m) => m !== "");
  const report = buildReport(collected, {
    ...(metrics && metrics.length > 0 ? { metrics } : {}),
    ...(options.split ? { split: options.split } : {}),
    stage: options.stage ?? "both",
  });
  for (const n of report.notes.slice(collected.notes.length)) process.stderr.write(`vlmp: note: ${n}\n`);
  if (collected.skipped.length > 0) {
    process.stderr.write(
      `vlmp: ${collected.runs.length} run(s) reported, ${collected.skipped.length} skipped\n`,
    );
  }
  process.stdout.write(formatReport(report, options.format ?? "md"));
  return 0;
}
