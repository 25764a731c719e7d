/**
 * Forja's public entry point. Models read like Keras:
 *
 *   import { input, layers, model, optimizers } from 'forja';
 *   const inp = input({ shape: [784] });
 *   const out = layers.dense({ units: 10, activation: 'softmax' }).apply(inp);
 *   const m = model({ inputs: inp, outputs: out });
 *   m.compile({ optimizer: 'adam', loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
 *   await m.fit(x, y, { epochs: 5, batchSize: 128 });
 *
 * Images are NCHW ([batch, channels, height, width]), ONNX's layout.
 */
export * as ops from './core/ops/index.js';
export { trace, currentGraph, Graph, Tensor } from './core/graph.js';
export { Variable } from './core/variable.js';
export { Rng } from './core/rng.js';
export type { DType } from './core/dtype.js';
export type { Dim, Shape } from './core/shape.js';
export { grad } from './autodiff/grad.js';
export { setThreads } from './runtime/session.js';
export { setCacheEnabled } from './io/cache.js';

export {
  layers,
  input,
  Layer,
  read,
  InputLayer,
  SymbolicTensor,
  HostTensor,
  hostTensor,
  initializers,
  setRandomSeed,
  saveWeights,
  loadWeights,
  registerLayer,
  type ActivationName,
  type ApplyOptions,
  type HostInput,
  type LayerArgs,
  type LayerConfig,
} from './nn/index.js';
export {
  model,
  sequential,
  Model,
  Functional,
  Sequential,
  saveModel,
  loadModel,
  type CompileArgs,
  type FitArgs,
  type EvaluateArgs,
  type PredictOptions,
} from './keras/index.js';

export * as losses from './losses/index.js';
export type { LossFn, LossName } from './losses/index.js';
export * as optimizers from './optim/index.js';
export { schedules, Optimizer, type OptimizerName } from './optim/index.js';
export {
  Trainer,
  TrainStep,
  History,
  earlyStopping,
  backupAndRestore,
  modelCheckpoint,
  csvLogger,
  jsonLogger,
  lambdaCallback,
  TrainingDivergedError,
  CheckpointError,
  ResumeMismatchError,
  type Callback,
  type TrainingTask,
  type Logs,
  type Results,
  type StepResult,
  type TrainStepArgs,
} from './train/index.js';
export * as metrics from './train/metrics.js';

// Data, pictures, checkpoints and text: the rest of what users call.
export * as data from './data/index.js';
export * as viz from './viz/index.js';
export { loadHfCheckpoint } from './io/hf-checkpoint.js';
export { resolveModelDir } from './io/hub.js';
export { readSafetensors, writeSafetensors } from './io/safetensors.js';
export { Tokenizer, CharTokenizer } from './text/tokenizer.js';
export { generate, stream, type GenerateOptions } from './text/generate.js';
export type { LanguageModel } from './text/language-model.js';
export { CausalLM, exportOnnx } from './models/index.js';
export * as lora from './models/lora/index.js';
export * as quantize from './models/quantize/index.js';
export * as gguf from './models/gguf/index.js';
export { finetune, type FinetuneOptions, type FinetuneResult, type FinetuneProgress, type FinetuneEvaluation, type TrainingArguments } from './models/finetune/index.js';
export { pipeline, type TextGenerationPipeline } from './apps/pipeline.js';
export { loadSentenceEmbedder, loadCrossEncoder, SentenceEmbedder, CrossEncoder, sigmoid, type SentenceEmbedderOptions, type CrossEncoderOptions, type PoolingMode } from './models/index.js';
export type { FeatureExtractionPipeline, Embeddings } from './apps/feature-extraction.js';
export { Captioner, exportVisionEncoderDecoder } from './models/vision-encoder-decoder/index.js';
export { EncoderDecoderSession, type EncoderDecoderModel } from './models/encoder-decoder/index.js';
export type { ImageToTextPipeline, Caption } from './apps/image-to-text.js';
export * as audio from './audio/index.js';
export { WhisperTranscriber, Whisper, type Transcript, type Segment, type TranscribeOptions } from './models/whisper/index.js';
export type { SpeechRecognitionPipeline, SpeechRecognitionOutput, SpeechChunk } from './apps/speech-recognition.js';
export * as image from './image/index.js';
export { ClipModel, loadClipModel, ProjectionMismatchError, type ClipTextInput, type ClipScores } from './models/clip/index.js';
export type { ZeroShotImageClassificationPipeline, LabelScore } from './apps/zero-shot-image-classification.js';
export * as rag from './rag/index.js';
export { createStore, ingest, retrieve, ask, evaluate } from './rag/index.js';
