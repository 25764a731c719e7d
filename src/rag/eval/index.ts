export { DatasetError, RunFileError } from './errors.js';
export { type BeirDataset, type Qrels, loadBeirDataset, loadQrels, loadQueries } from './beir.js';
export { type Cutoffs, DEFAULT_CUTOFFS, type Metrics, type RankedDoc, type Run, type RunEvaluation, averagePrecisionAt, beirOrder, evaluateRun, ndcgAt, recallAt, reciprocalRankAt, trecOrder } from './metrics.js';
export { formatTrecRun, readTrecRun, writeTrecRun } from './run-file.js';
export { EVAL_MODES, type EvalMode, type EvaluateOptions, type EvaluationReport, type Latency, type ModeReport, evaluate, quantile } from './evaluate.js';
