export { type AssistantMaskMethod, type FinetuneTokenizer, type RecordEncoder, type RecordEncoderOptions, encodeDocument, recordEncoder } from './encode.js';
export {
  type BatchesOptions,
  type FileSummary,
  type FinetuneData,
  type FinetuneDataOptions,
  type FinetuneDataSummary,
  type SplitSummary,
  FinetuneSplit,
  loadFinetuneData,
} from './dataset.js';
