/** Retrieval-augmented generation: stores, ingestion, retrieval, answers with citations, BEIR evaluation. */
export { createStore, type StoreOptions } from './store/open.js';
export type { Store, StoreInfo, StoreSettings, ChunkFilter, ChunkRecord, DocumentInput } from './store/types.js';
export { StoreMismatchError, StoreLockedError, StoreCorruptError, StoreUnreachableError, SourceUnreadableError } from './errors.js';
export { ingest, IngestSettingsError, type IngestOptions, type IngestProgress, type IngestSummary } from './ingest.js';
export { chunkText } from './chunk/splitter.js';
export { retrieve, RETRIEVAL_MODES, type RetrieveOptions, type RetrievalResult, type RetrievalMode, type RetrievalWarning } from './retrieve.js';
export { ask, AskError, type AskOptions, type AskResult, type AnswerGenerator, type SourceRef } from './answer/ask.js';
export { evaluate, loadBeirDataset, evaluateRun, writeTrecRun, readTrecRun, EVAL_MODES, type EvaluateOptions, type EvaluationReport, type EvalMode } from './eval/index.js';
export { loadBeirPairs, type BeirPairOptions } from './eval/training-pairs.js';
export { ANALYZER, analyze, termFrequencies } from './lexical/analyzer.js';
export { ANSERINI_BM25, type Bm25Params } from './lexical/bm25.js';
