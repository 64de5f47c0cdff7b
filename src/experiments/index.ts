/** The experiments' library surface (pmg eval: runner, run store, metrics, samples, report, statistics), re-exported by src/index.ts. */
export { runEval, plannedRows, sampleFolder, writeAtomic, type EvalRunOptions, type EvalRunSummary, type PersonalizeFn } from './runner.js';
export { RunStore, RUN_DB, resultKey, type ResultRow, type StoredSample, type StoredKeywords } from './run-store.js';
export {
  EVAL_METHODS,
  DEFAULT_EVAL_METHODS,
  configDifferences,
  type EvalConfig,
  type EvalMethod,
  type EvalModelConfig,
  type EvalSoftConfig,
} from './run-config.js';
export {
  EvalScorer,
  EVAL_METRICS,
  DEFAULT_EVAL_METRICS,
  checkEvalMetrics,
  metricColumns,
  targetText,
  type EvalMetricName,
  type EvalReferences,
} from './eval-metrics.js';
export { loadEvalSamples, EVAL_DATASETS, type EvalSampleQuery, type EvalSampleSource } from './eval-samples.js';
export { writeReport, reportData, type ReportData, type ReportFiles, type GroupStats } from './report.js';
export { resultsCsv } from './results-csv.js';
export { lineChartSvg, type ChartOptions, type ChartSeries, type ChartPoint } from './chart-svg.js';
export { writeHumanSheets, parsePairs, type PairSide, type HumanSheetResult } from './human-sheet.js';
export { summarize, tQuantile975, relativeChange, type Summary } from './stats.js';
