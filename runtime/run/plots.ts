// The plots of a run directory, drawn from metrics.jsonl and from evaluation outputs: loss curves per step,
// metric curves per epoch for each split, reliability diagrams, known-vs-unknown score histograms.

import type { ReliabilityDiagram } from "../metrics/ece.ts";
import type { MetricsRecord, RunDirectory } from "./run-dir.ts";
import { histogramChart, lineChart, reliabilityChart, type Series } from "./svg.ts";

function group(
  records: readonly MetricsRecord[],
  x: (r: MetricsRecord) => number | undefined,
  prefix = "",
): Series[] {
  const series = new Map<string, [number, number][]>();
  for (const r of records) {
    const xv = x(r);
    if (xv === undefined) continue;
    for (const [key, v] of Object.entries(r.values)) {
      const name = `${prefix}${r.stage ? `${r.stage}/` : ""}${key}`;
      const points = series.get(name) ?? [];
      points.push([xv, v ?? Number.NaN]);
      series.set(name, points);
    }
  }
  return [...series].map(([name, points]) => ({ name, points }));
}

/** Write plots/loss.svg (step records) and plots/metrics-<split>.svg (eval records); returns the paths. */
export function writeCurvePlots(
  run: RunDirectory,
  records: readonly MetricsRecord[] = run.records(),
): string[] {
  const written: string[] = [];
  const steps = records.filter((r) => r.kind === "step");
  const stepSeries = group(steps, (r) => r.step);
  if (stepSeries.length > 0) {
    written.push(
      run.writePlot(
        "loss",
        lineChart({
          title: `${run.identity.pipeline}: training`,
          xLabel: "step",
          yLabel: "value",
          series: stepSeries,
        }),
      ),
    );
  }
  const epochSeries = group(
    records.filter((r) => r.kind === "epoch"),
    (r) => r.epoch,
  );
  if (epochSeries.length > 0) {
    written.push(
      run.writePlot(
        "epochs",
        lineChart({
          title: `${run.identity.pipeline}: per epoch`,
          xLabel: "epoch",
          yLabel: "value",
          series: epochSeries,
        }),
      ),
    );
  }
  const splits = [...new Set(records.filter((r) => r.kind === "eval").map((r) => r.split ?? "eval"))];
  for (const split of splits) {
    const evals = records.filter((r) => r.kind === "eval" && (r.split ?? "eval") === split);
    const series = group(evals, (r) => r.epoch ?? r.step);
    if (series.length === 0) continue;
    written.push(
      run.writePlot(
        `metrics-${safe(split)}`,
        lineChart({ title: `${run.identity.pipeline}: ${split}`, xLabel: "epoch", yLabel: "value", series }),
      ),
    );
  }
  return written;
}

/** plots/reliability-<split>.svg */
export function writeReliabilityPlot(run: RunDirectory, split: string, diagram: ReliabilityDiagram): string {
  return run.writePlot(
    `reliability-${safe(split)}`,
    reliabilityChart({ title: `reliability: ${split}`, bins: diagram.bins, ece: diagram.ece }),
  );
}

/** plots/scores-<split>.svg: histograms of a score for positive (known / ID) vs negative samples. */
export function writeScoreHistogram(
  run: RunDirectory,
  split: string,
  score: string,
  positives: ArrayLike<number>,
  negatives: ArrayLike<number>,
  names: readonly [string, string] = ["known", "unknown"],
): string {
  return run.writePlot(
    `scores-${safe(split)}`,
    histogramChart({
      title: `${score}: ${names[0]} vs ${names[1]} (${split})`,
      xLabel: score,
      series: [
        { name: names[0], values: positives },
        { name: names[1], values: negatives },
      ],
    }),
  );
}

function safe(name: string): string {
  return name.replace(/[^A-Za-z0-9_.-]/g, "_");
}
