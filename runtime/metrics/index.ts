// The metrics of METHODS §6 behind the `extern metric` declarations of stdlib/metrics.vlmp.
// metrics.vlmp name → function: accuracy → accuracy; per_class_accuracy → perClassAccuracy;
// per_group_accuracy → perGroupAccuracy; worst_group_accuracy → worstGroupAccuracy; mean_accuracy →
// meanAccuracy; adjusted_average → adjustedAverage; macro_f1 → macroF1; auroc / aupr / fpr95 → auroc / aupr /
// fpr95 over oodScores(score:, temperature:) with a positive mask (knownMask for `positive: known`); ece →
// ece; reliability_diagram → reliabilityDiagram; average_accuracy, last_accuracy, backward_transfer,
// forgetting → the functions of continual.ts; task_aware_accuracy → taskAwareAccuracy; harmonic_mean →
// harmonicMean; base_novel → baseNovel; aggregates mean_of_hms / hm_of_means → meanOfHms / hmOfMeans.

export {
  accuracy,
  accuracy as meanAccuracy,
  correctness,
  macroF1,
  perClassAccuracies,
  perClassAccuracy,
  taskAwareAccuracy,
} from "./accuracy.ts";
export { aupr } from "./aupr.ts";
export { auroc, averageRanks } from "./auroc.ts";
export {
  averageAccuracy,
  backwardTransfer,
  backwardTransfers,
  forgetting,
  lastAccuracies,
  lastAccuracy,
  type TaskMatrix,
} from "./continual.ts";
export { binOf, ece, eceFrom, type ReliabilityDiagram, reliability, reliabilityDiagram } from "./ece.ts";
export { type Fpr95Mode, fpr95 } from "./fpr95.ts";
export {
  adjustedAverage,
  groupOf,
  type PerGroupAccuracies,
  perGroupAccuracy,
  WATERBIRDS_TRAIN_COUNTS,
  worstGroupAccuracy,
} from "./groups.ts";
export { baseNovel, harmonicMean, hm, hmOfMeans, meanOfHms } from "./harmonic.ts";
export { argmaxRow, predictions, rankOf } from "./predict.ts";
export { confidences, knownMask, oodScores, type ScoreKind } from "./scores.ts";
export { type Matrix, MetricInputError, type MetricResult, type MetricWarning, matrix } from "./types.ts";
