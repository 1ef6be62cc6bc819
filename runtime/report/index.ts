export {
  type BaseNovel,
  baseNovelOf,
  buildReport,
  type Cell,
  cell,
  type Report,
  type ReportOptions,
  type Row,
  type StageOption,
} from "./aggregate.ts";
export {
  type Collected,
  collectRuns,
  datasetName,
  findSummaries,
  methodFingerprint,
  type RunMetric,
  type RunRecord,
  type Skipped,
  type Stage,
  validateSummary,
} from "./collect.ts";
export { type FlatRow, flatRows, formatReport, type ReportFormat } from "./format.ts";
