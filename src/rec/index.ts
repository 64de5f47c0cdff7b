/** The downstream-recommendation experiment's library surface (`pmg rec`), re-exported by src/index.ts. */
// Downstream recommendation (issue 15): the model, metrics, intervals and report behind `pmg rec`.
export type { RecRow, RecSplit, RecItem, RecSelection, RecDataset, DenseFeatures, FeatureSet } from './rec-types.js';
export {
  runRecExperiment,
  DEFAULT_REC_OPTIONS,
  type RecExperimentOptions,
  type RecModelOptions,
  type RecReport,
  type RecSetResult,
  type RecDelta,
} from './rec-experiment.js';
export { writeRecReport, type RecReportFiles } from './rec-report.js';
export { auc, logLoss, gauc, recallAtK, ndcgAtK } from './rec-metrics.js';
// ... and its data side: the rows, the plan of images they need, the generated and random feature blocks.
export { movieLensRecDataset, movieLensRecData, DEFAULT_REC_SELECTION, type RecData, type RecSelectionStats } from './movielens-rec.js';
export { recPlanSamples, recPlan, writeRecPlan, recRowsHash, recSampleId, type RecPlan } from './rec-plan.js';
export { readRecRun, type RecRun } from './rec-run.js';
export { generatedFeatures, type GeneratedFeatures, type GeneratedFeatureOptions, type ImageEmbedder } from './generated-features.js';
export { randomFeatures } from './random-features.js';
export { fitPca, pcaTransform, type PcaModel } from './pca.js';
