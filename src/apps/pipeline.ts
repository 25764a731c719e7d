/**
 * transformers-style pipelines. `pipeline('text-generation', 'gpt2' | dir)` loads a causal LM,
 * its tokenizer and generation_config.json; calling the result with a prompt, a list of prompts
 * or chat messages returns `[{ generated_text }]` as transformers' TextGenerationPipeline does
 * (the prompt included unless `return_full_text: false`; chat input gets the assistant reply
 * appended to the messages).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadHfCheckpoint, type LoadCheckpointOptions } from '../io/hf-checkpoint.js';
import type { SentenceEmbedder } from '../models/bert/embedder.js';
import { CausalLM } from '../models/causal-lm.js';
import { isGgufPath, loadGgufTokenizer } from '../models/gguf/load.js';
import type { CausalLmLoadOptions } from '../models/quantize/load.js';
import { loadLoraAdapter } from '../models/lora/peft-io.js';
import { loadCausalLmModel } from '../models/registry.js';
import type { ChatMessage } from '../text/chat-template.js';
import { generate, stream as streamGenerate, type GenerateOptions } from '../text/generate.js';
import { generationConfigFromJson, type GenerationConfig } from '../text/generation-config.js';
import type { LanguageModel } from '../text/language-model.js';
import { Tokenizer, type TextTokenizer } from '../text/tokenizer.js';
import { withLoadProgress, type DownloadProgressInfo } from './load-progress.js';
import { featureExtractionPipeline, type FeatureExtractionOptions, type FeatureExtractionPipeline } from './feature-extraction.js';
import { imageToTextPipeline, type ImageToTextOptions, type ImageToTextParts, type ImageToTextPipeline } from './image-to-text.js';
import { speechRecognitionPipeline, type SpeechRecognitionOptions, type SpeechRecognitionPipeline } from './speech-recognition.js';
import type { WhisperTranscriber } from '../models/whisper/transcribe.js';
import type { ClipModel } from '../models/clip/clip-model.js';
import { zeroShotImageClassificationPipeline, type ZeroShotImageClassificationOptions, type ZeroShotImageClassificationPipeline } from './zero-shot-image-classification.js';

export type PipelineTask = 'text-generation';

/** What the pipeline needs from a tokenizer; `Tokenizer` provides it. */
export type PipelineTokenizer = Pick<TextTokenizer, 'encode' | 'decode'> & {
  applyChatTemplate(messages: readonly ChatMessage[], opts?: { addGenerationPrompt?: boolean; continueFinalMessage?: boolean; template?: string }): string;
};

/** Already loaded parts, instead of a model id or directory. */
export interface TextGenerationParts {
  model: LanguageModel;
  tokenizer: PipelineTokenizer;
  generationConfig?: GenerationConfig;
}

export interface TextGenerationCallOptions extends Omit<GenerateOptions, 'tokenizer' | 'attention_mask' | 'generation_config' | 'onText'> {
  /** Include the prompt in generated_text (default true, as transformers). */
  return_full_text?: boolean;
  returnFullText?: boolean;
  /** Chat template to use instead of the tokenizer's. */
  chat_template?: string;
}

export interface GeneratedText {
  /** A string for text input; for chat input with return_full_text, the messages plus the assistant reply. */
  generated_text: string | ChatMessage[];
}

export type TextGenerationInput = string | ChatMessage[];

export interface TextGenerationPipeline {
  (input: TextGenerationInput, options?: TextGenerationCallOptions): Promise<GeneratedText[]>;
  (inputs: TextGenerationInput[], options?: TextGenerationCallOptions): Promise<GeneratedText[][]>;
  readonly task: PipelineTask;
  readonly model: LanguageModel;
  readonly tokenizer: PipelineTokenizer;
  /** Defaults under every call: generation_config.json, plus the pipeline's 256 new tokens when it sets no length. */
  readonly generationConfig: GenerationConfig;
  /** Token ids of one input as they are fed to generate (chat template applied to messages). */
  encode(input: TextGenerationInput, options?: Pick<TextGenerationCallOptions, 'chat_template'>): number[];
  /** Text increments of the reply to one input; the generator returns the same value as a call. */
  stream(input: TextGenerationInput, options?: TextGenerationCallOptions): AsyncGenerator<string, GeneratedText[]>;
  /** Free the model's ONNX session (when it has one). */
  dispose(): Promise<void>;
}

/** transformers' TextGenerationPipeline default when the model's generation config sets no length. */
const PIPELINE_MAX_NEW_TOKENS = 256;
const DEFAULT_MAX_LENGTH = 20;

function withPipelineDefaults(config: GenerationConfig): GenerationConfig {
  const setsLength = config.max_new_tokens !== undefined || (config.max_length !== undefined && config.max_length !== DEFAULT_MAX_LENGTH);
  return setsLength ? config : { ...config, max_new_tokens: PIPELINE_MAX_NEW_TOKENS };
}

function isChat(input: unknown): input is ChatMessage[] {
  return Array.isArray(input) && input.length > 0 && input.every((m) => m !== null && typeof m === 'object' && !Array.isArray(m) && typeof (m as { role?: unknown }).role === 'string');
}

function isInput(input: unknown): input is TextGenerationInput {
  return typeof input === 'string' || isChat(input);
}

/** A single input, or a list of them (a batch). */
function splitBatch(input: unknown): { inputs: TextGenerationInput[]; batched: boolean } {
  if (isInput(input)) return { inputs: [input], batched: false };
  if (Array.isArray(input) && input.length > 0 && input.every(isInput)) return { inputs: input, batched: true };
  throw new Error('text-generation pipeline: input must be a string, a list of strings, chat messages ({role, content}[]) or a list of those');
}

/**
 * The text of the new tokens, special tokens skipped. As transformers, decode prompt + reply and
 * cut at the decoded prompt's length, so text merging across the boundary comes out right.
 */
export function decodeReply(tokenizer: Pick<TextTokenizer, 'decode'>, promptIds: readonly number[], newTokens: readonly number[]): string {
  const decode = (ids: readonly number[]): string => tokenizer.decode(ids, { skipSpecialTokens: true });
  return decode([...promptIds, ...newTokens]).slice(decode(promptIds).length);
}

/** transformers continues the final message instead of starting a new turn when it is the assistant's. */
const continuesFinalMessage = (messages: readonly ChatMessage[]): boolean => messages[messages.length - 1]?.role === 'assistant';

class TextGeneration {
  readonly generationConfig: GenerationConfig;

  constructor(
    readonly model: LanguageModel,
    readonly tokenizer: PipelineTokenizer,
    generationConfig: GenerationConfig,
    /** The pipeline's draft model for assisted decoding; a call's assistant_model overrides it. */
    readonly assistant?: LanguageModel,
  ) {
    this.generationConfig = withPipelineDefaults(generationConfig);
  }

  encode(input: TextGenerationInput, options: Pick<TextGenerationCallOptions, 'chat_template'> = {}): number[] {
    if (typeof input === 'string') return this.tokenizer.encode(input);
    const continueFinal = continuesFinalMessage(input);
    const text = this.tokenizer.applyChatTemplate(input, {
      addGenerationPrompt: !continueFinal,
      continueFinalMessage: continueFinal,
      ...(options.chat_template !== undefined && { template: options.chat_template }),
    });
    // The template already holds the special tokens it wants.
    return this.tokenizer.encode(text, { addSpecialTokens: false });
  }

  async run(input: unknown, options: TextGenerationCallOptions = {}): Promise<GeneratedText[] | GeneratedText[][]> {
    const { inputs, batched } = splitBatch(input);
    const promptIds = inputs.map((i) => this.encode(i, options));
    const out = await generate(this.model, promptIds, this.generateOptions(options));
    const results = inputs.map((i, row) => [this.result(i, promptIds[row]!, out.newTokens[row]!, options)]);
    return batched ? results : results[0]!;
  }

  async *stream(input: TextGenerationInput, options: TextGenerationCallOptions = {}): AsyncGenerator<string, GeneratedText[]> {
    if (!isInput(input)) throw new Error('text-generation pipeline: stream takes one input (a string or chat messages)');
    const promptIds = this.encode(input, options);
    const gen = streamGenerate(this.model, this.tokenizer, [promptIds], this.generateOptions(options));
    let step = await gen.next();
    for (; !step.done; step = await gen.next()) yield step.value.text;
    return [this.result(input, promptIds, step.value.newTokens[0]!, options)];
  }

  private generateOptions(options: TextGenerationCallOptions): GenerateOptions {
    const { return_full_text: _full, returnFullText: _fullCamel, chat_template: _template, ...rest } = options;
    return { ...(this.assistant && { assistant_model: this.assistant }), ...rest, generation_config: this.generationConfig, tokenizer: this.tokenizer };
  }

  private result(input: TextGenerationInput, promptIds: number[], newTokens: number[], options: TextGenerationCallOptions): GeneratedText {
    const reply = decodeReply(this.tokenizer, promptIds, newTokens);
    const fullText = options.return_full_text ?? options.returnFullText ?? true;
    if (!fullText) return { generated_text: reply };
    if (typeof input === 'string') return { generated_text: input + reply };
    if (!continuesFinalMessage(input)) return { generated_text: [...input, { role: 'assistant', content: reply }] };
    const last = input[input.length - 1]!;
    const content = typeof last.content === 'string' ? last.content + reply : reply;
    return { generated_text: [...input.slice(0, -1), { ...last, content }] };
  }
}

/** What `progress_callback` receives: the part of transformers.js's ProgressInfo that applies (total is 0 when unknown). */
export type PipelineProgressInfo = DownloadProgressInfo | { status: 'ready'; task: PipelineTask; model: string };

export interface PipelineOptions extends CausalLmLoadOptions {
  /** Download progress, as transformers.js's option of that name. Without it (or onProgress) bars are drawn on stderr when it is a TTY. */
  progress_callback?: (info: PipelineProgressInfo) => void;
  /** A PEFT adapter directory applied to the model unmerged; its tokenizer files, when it has them, are used. */
  adapter?: string;
  /** A draft model (checkpoint directory, hub id or loaded model) for assisted decoding on every call, as transformers' assistant_model. */
  assistant_model?: string | LanguageModel;
}

async function loadParts(model: string, options: PipelineOptions): Promise<TextGenerationParts> {
  const { progress_callback: _callback, onProgress: _onProgress, adapter, ...rest } = options;
  if (adapter !== undefined && rest.loadIn !== undefined) throw new Error('text-generation pipeline: loadIn cannot be combined with adapter yet; merge the adapter into its base first, then quantize');
  const lm = await withLoadProgress(model, options, (onProgress) =>
    adapter === undefined ? CausalLM.load(model, { ...rest, onProgress }) : withAdapter(model, adapter, { ...rest, onProgress }),
  );
  if (lm.dir === undefined) throw new Error(`text-generation pipeline: "${model}" was loaded without a directory to read its tokenizer from`);
  // An adapter that added tokens carries the tokenizer that knows them.
  // A GGUF file embeds its tokenizer.
  const tokenizer = isGgufPath(lm.dir) ? await loadGgufTokenizer(lm.dir) : await Tokenizer.fromDir(adapter !== undefined && existsSync(join(adapter, 'tokenizer.json')) ? adapter : lm.dir);
  const generationConfig = lm.generationConfig ? generationConfigFromJson(lm.generationConfig, `${lm.dir}/generation_config.json`) : {};
  return { model: lm, tokenizer, generationConfig };
}

/** The base with a PEFT adapter over it, unmerged (the base's weights are shared, not copied). */
async function withAdapter(model: string, adapter: string, options: LoadCheckpointOptions): Promise<CausalLM> {
  const ckpt = await loadHfCheckpoint(model, options);
  if (ckpt.config.quantization_config) throw new Error(`text-generation pipeline: ${ckpt.dir} is a quantized checkpoint; adapters apply to float ones (merge the adapter into the float base, then quantize)`);
  const base = loadCausalLmModel(ckpt.config, ckpt.weights, `${ckpt.dir}/config.json`);
  return CausalLM.fromModel(await loadLoraAdapter(adapter, base), ckpt.dir, ckpt.generationConfig);
}

/**
 * Build a pipeline. `model` is a hub id ("gpt2", "org/name"), a checkpoint directory, or already
 * loaded parts; `options` are hub/loading options (revision, cacheDir, offline, ...) and
 * `progress_callback`.
 */
export async function pipeline(task: 'feature-extraction', model: string | SentenceEmbedder, options?: FeatureExtractionOptions): Promise<FeatureExtractionPipeline>;
export async function pipeline(task: 'automatic-speech-recognition', model: string | WhisperTranscriber, options?: SpeechRecognitionOptions): Promise<SpeechRecognitionPipeline>;
export async function pipeline(task: 'image-to-text', model: string | ImageToTextParts, options?: ImageToTextOptions): Promise<ImageToTextPipeline>;
export async function pipeline(task: 'zero-shot-image-classification', model: string | ClipModel, options?: ZeroShotImageClassificationOptions): Promise<ZeroShotImageClassificationPipeline>;
export async function pipeline(task: PipelineTask, model: string | TextGenerationParts, options?: PipelineOptions): Promise<TextGenerationPipeline>;
export async function pipeline(
  task: PipelineTask | 'feature-extraction' | 'automatic-speech-recognition' | 'image-to-text' | 'zero-shot-image-classification',
  model: string | TextGenerationParts | SentenceEmbedder | WhisperTranscriber | ImageToTextParts | ClipModel,
  anyOptions: PipelineOptions | FeatureExtractionOptions | SpeechRecognitionOptions | ImageToTextOptions | ZeroShotImageClassificationOptions = {},
): Promise<TextGenerationPipeline | FeatureExtractionPipeline | SpeechRecognitionPipeline | ImageToTextPipeline | ZeroShotImageClassificationPipeline> {
  if (task === 'feature-extraction') return featureExtractionPipeline(model as string | SentenceEmbedder, anyOptions as FeatureExtractionOptions);
  if (task === 'automatic-speech-recognition') return speechRecognitionPipeline(model as string | WhisperTranscriber, anyOptions as SpeechRecognitionOptions);
  if (task === 'image-to-text') return imageToTextPipeline(model as string | ImageToTextParts, anyOptions as ImageToTextOptions);
  if (task === 'zero-shot-image-classification') return zeroShotImageClassificationPipeline(model as string | ClipModel, anyOptions as ZeroShotImageClassificationOptions);
  if (task !== 'text-generation') throw new Error(`pipeline: task '${String(task)}' is not supported (supported: 'text-generation', 'feature-extraction', 'automatic-speech-recognition', 'image-to-text', 'zero-shot-image-classification')`);
  const { assistant_model: assistant, ...options } = anyOptions as PipelineOptions;
  model = model as string | TextGenerationParts;
  const parts = typeof model === 'string' ? await loadParts(model, options) : model;
  const { progress_callback: _cb, onProgress: _p, adapter: _a, ...draftLoad } = options;
  const draft = typeof assistant === 'string' ? await CausalLM.load(assistant, draftLoad) : assistant;
  const impl = new TextGeneration(parts.model, parts.tokenizer, parts.generationConfig ?? {}, draft);
  const call = (input: unknown, callOptions?: TextGenerationCallOptions) => impl.run(input, callOptions);
  if (typeof model === 'string') options.progress_callback?.({ status: 'ready', task, model });
  return Object.assign(call as TextGenerationPipeline, {
    task,
    model: impl.model,
    tokenizer: impl.tokenizer,
    generationConfig: impl.generationConfig,
    encode: impl.encode.bind(impl),
    stream: impl.stream.bind(impl),
    dispose: async () => {
      await impl.model.release?.();
      if (typeof assistant === 'string') await draft?.release?.();
    },
  });
}
