export { appendLine, readJsonl, repairJsonl, writeFileAtomic } from "./atomic.ts";
export { writeCurvePlots, writeReliabilityPlot, writeScoreHistogram } from "./plots.ts";
export {
  type CreateRunOptions,
  type MetricMap,
  type MetricsRecord,
  RunDirectory,
  type RunIdentity,
  runDirName,
  type Summary,
  toMetricMap,
  VLMP_VERSION,
} from "./run-dir.ts";
export { escapeXml, histogramChart, lineChart, reliabilityChart } from "./svg.ts";
