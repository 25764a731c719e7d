export type { ForwardInput, ForwardOutput, KVCache, LanguageModel } from './language-model.js';
export {
  type CharTokenizerJson,
  type DecodeOptions,
  type EncodeOptions,
  type TextTokenizer,
  type TokenizerSource,
  CharTokenizer,
  Tokenizer,
} from './tokenizer.js';
export { type ChatContentPart, type ChatMessage, type ChatTemplateOptions, applyChatTemplate } from './chat-template.js';
export {
  type EarlyStopping,
  type GenerationConfig,
  type GenerationOptions,
  type ResolveContext,
  type ResolvedGenerationConfig,
  generationConfigFromJson,
  normalizeGenerationOptions,
  resolveGenerationConfig,
} from './generation-config.js';
export {
  type GenerateOptions,
  type GenerateOutput,
  type GenerationTokenizer,
  type StreamChunk,
  generate,
  stream,
} from './generate.js';
export {
  type LogitsProcessor,
  applyLogitsProcessors,
  buildLogitsProcessors,
  minLength,
  minP,
  noRepeatNgram,
  repetitionPenalty,
  temperature,
  topK,
  topP,
} from './logits-processors.js';
export { argmax, logSoftmax, sampleCategorical, sampleWithoutReplacement, softmax } from './sampling.js';
export { type BeamSearchInput, type BeamSearchOutput, type NextTokenLogits, beamSearch, topIndices } from './beam-search.js';
export { type AssistedOptions, type AssistedStats, assistedDecode, resolveAssisted } from './speculative.js';
export { type StoppingCriterion, anyCriterion, eosCriterion, maxLengthCriterion, stopStringCriterion } from './stopping.js';
export { type DecodeFn, AsyncChannel, IncrementalDetokenizer } from './streamer.js';
export {
  type BatchEngine,
  type EngineModel,
  type EngineOptions,
  type EngineStats,
  type FinishReason,
  type SamplingParams,
  type SequenceHandle,
  type SequenceRequest,
  type SequenceResult,
  type TokenEvent,
  type TokenLogprob,
  ContextLengthError,
  EngineClosedError,
  InvalidRequestError,
  QueueFullError,
  UnknownModelError,
  createBatchEngine,
} from './batching/index.js';
export {
  type JsonConstraintFactory,
  type JsonConstraintOptions,
  type RecognizerLimits,
  JsonRecognizer,
  UnsupportedSchemaError,
  compileSchema,
  jsonConstraint,
  tokenVocabulary,
} from './constrained/index.js';
