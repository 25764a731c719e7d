export {
  type SkipReason,
  type RecordLocation,
  type RecordProblem,
  type SkipReport,
  type FinetuneDataFailure,
  BadRecordError,
  FinetuneDataError,
  ProblemLog,
  formatLocation,
} from './problems.js';
export { type DataSource, type SourceKind, type SourceLine, listSources, readLines, readTextDocument } from './sources.js';
export {
  type ChatRole,
  type ChatTurn,
  type FinetuneRecord,
  type ParsedRecord,
  type RecordFormat,
  type RecordRejection,
  CHAT_ROLES,
  looksLikeJsonArray,
  parseRecordLine,
  parseRecordValue,
} from './records.js';
export {
  type CollateOptions,
  type Example,
  type FinetuneBatch,
  type Row,
  IGNORE_INDEX,
  collate,
  packExamples,
  packedAttentionMask,
  rowsOf,
  supervisedTokens,
  textBlocks,
  truncateExample,
} from './batching.js';
export { type ExampleSplit, splitExamples } from './split.js';
