/**
 * Speech to timed text with a Whisper checkpoint. Audio (a 16 kHz mono array, or a stream for long
 * files) is cut into 30 s windows sequentially, as OpenAI's long-form transcription does: each
 * window's features are encoded once, the decoder generates after the forced prompt
 * <|startoftranscript|><|lang|><|task|> (plus <|notimestamps|> without timestamps) through
 * text/generate.ts with Whisper's logits processors, and the next window starts at the end of the
 * last complete segment. Memory is bounded by one window plus one stream block.
 */
import { existsSync } from 'node:fs';
import type { AudioStream } from '../../audio/source.js';
import { WhisperFeatureExtractor } from '../../audio/features.js';
import { EmptyAudioError } from '../../audio/errors.js';
import { loadHfCheckpoint, readJsonObject, type LoadCheckpointOptions } from '../../io/hf-checkpoint.js';
import { generate, type GenerateOptions } from '../../text/generate.js';
import { generationConfigFromJson, type GenerationConfig } from '../../text/generation-config.js';
import { suppressTokens, suppressTokensAtBegin } from '../../text/logits-processors.js';
import { Tokenizer } from '../../text/tokenizer.js';
import { Whisper } from './model.js';
import { timestampRules } from './processors.js';
import { splitWindow } from './segments.js';
import { WhisperSession } from './session.js';
import type { EncodedBatch } from '../encoder-decoder/session.js';
import { languageOf, languageToken, whisperTokens, type WhisperTask, type WhisperTokens } from './tokens.js';

/** What decoding text needs from a tokenizer. */
export interface WhisperTokenizer {
  decode(ids: readonly number[], opts?: { skipSpecialTokens?: boolean }): string;
  tokenToId(token: string): number | undefined;
}

export interface TranscribeOptions extends Omit<GenerateOptions, 'logits_processor' | 'tokenizer' | 'onText' | 'attention_mask' | 'generation_config'> {
  /** A code ('es') or name ('spanish'); default: detected from the first window (multilingual models). */
  language?: string;
  task?: WhisperTask;
  /** Decode with timestamps (segment times). Default true; without, each window is one segment. */
  return_timestamps?: boolean;
  /** Each segment as soon as its window is decoded. */
  onSegment?: (segment: Segment) => void | Promise<void>;
}

export interface Segment {
  /** Seconds from the start of the audio. */
  start: number;
  end: number;
  text: string;
  tokens: number[];
}

export interface Transcript {
  text: string;
  segments: Segment[];
  /** The language decoded (given or detected); undefined for English-only models. */
  language: string | undefined;
  /** Seconds of audio read. */
  duration: number;
}

export interface LoadTranscriberOptions extends LoadCheckpointOptions {
  /** A tokenizer instead of the checkpoint's tokenizer.json. */
  tokenizer?: WhisperTokenizer;
}

type Json = Record<string, unknown>;

async function* arrayBlocks(samples: Float32Array): AsyncGenerator<Float32Array> {
  yield samples;
}

/** Samples from `seek` on, refilled from a stream; drops what lies before the window. */
class WindowBuffer {
  private data = new Float32Array(0);
  /** Absolute sample index of data[0]. */
  private offset = 0;
  private length = 0;
  ended = false;

  constructor(private readonly blocks: AsyncIterator<Float32Array>) {}

  get end(): number {
    return this.offset + this.length;
  }

  /** Up to `size` samples from absolute index `seek` (fewer only at the end of the audio). */
  async window(seek: number, size: number): Promise<Float32Array> {
    this.drop(seek);
    while (!this.ended && this.end < seek + size) {
      const next = await this.blocks.next();
      if (next.done) this.ended = true;
      else this.append(next.value);
    }
    return this.data.subarray(seek - this.offset, Math.min(seek + size, this.end) - this.offset);
  }

  private drop(seek: number): void {
    const cut = Math.min(seek, this.end) - this.offset;
    if (cut <= 0) return;
    this.data.copyWithin(0, cut, this.length);
    this.offset += cut;
    this.length -= cut;
  }

  private append(block: Float32Array): void {
    if (this.length + block.length > this.data.length) {
      const grown = new Float32Array(Math.max(2 * this.data.length, this.length + block.length));
      grown.set(this.data.subarray(0, this.length));
      this.data = grown;
    }
    this.data.set(block, this.length);
    this.length += block.length;
  }
}

export class WhisperTranscriber {
  readonly tokens: WhisperTokens;
  private readonly generationConfig: GenerationConfig;

  constructor(
    readonly session: WhisperSession,
    readonly features: WhisperFeatureExtractor,
    private readonly generationJson: Json,
    readonly tokenizer: WhisperTokenizer | undefined,
  ) {
    const c = session.model.config;
    this.tokens = whisperTokens({ vocabSize: c.vocabSize, decoderStartTokenId: c.decoderStartTokenId, eosTokenId: c.eosTokenId, generationConfig: generationJson, tokenizer });
    this.generationConfig = { eos_token_id: c.eosTokenId, pad_token_id: c.padTokenId, ...generationConfigFromJson(generationJson) };
  }

  /** A checkpoint directory or hub id with its preprocessor_config.json, generation_config.json and tokenizer.json. */
  static async load(dirOrId: string, opts: LoadTranscriberOptions = {}): Promise<WhisperTranscriber> {
    const { tokenizer, ...load } = opts;
    const ckpt = await loadHfCheckpoint(dirOrId, { ...load, extraFiles: [...(load.extraFiles ?? []), 'preprocessor_config.json'] });
    const model = Whisper.fromCheckpoint(ckpt.config, ckpt.weights, `${ckpt.dir}/config.json`);
    const preprocessor = await readJsonObject(`${ckpt.dir}/preprocessor_config.json`);
    const [session, features] = await Promise.all([WhisperSession.compile(model), WhisperFeatureExtractor.create(preprocessor ?? {})]);
    const hasOwn = tokenizer === undefined && existsSync(`${ckpt.dir}/tokenizer.json`);
    return new WhisperTranscriber(session, features, ckpt.generationConfig ?? {}, hasOwn ? await Tokenizer.fromDir(ckpt.dir) : tokenizer);
  }

  get sampleRate(): number {
    return this.features.config.samplingRate;
  }

  /** The forced prompt for a language (token id) and task. */
  prompt(language: number | undefined, task: WhisperTask, timestamps: boolean): number[] {
    const t = this.tokens;
    const ids = [t.startOfTranscript];
    if (t.multilingual) ids.push(language ?? t.languages.get('en')!, t.tasks[task]);
    if (!timestamps) ids.push(t.noTimestamps);
    return ids;
  }

  /** The most likely language token after <|startoftranscript|> (transformers' detect_language). */
  async detectLanguage(encoded: EncodedBatch): Promise<number> {
    const decoder = this.session.decoderFor(encoded);
    const { logits } = await decoder.forward({ ids: BigInt64Array.of(BigInt(this.tokens.startOfTranscript)), batch: 1, attentionMask: BigInt64Array.of(1n), positionIds: BigInt64Array.of(0n) });
    let best = -1;
    for (const id of this.tokens.languages.values()) if (best < 0 || logits[id]! > logits[best]!) best = id;
    return best;
  }

  /** Transcribe 16 kHz mono samples or a stream of them (openAudio's). */
  async transcribe(audio: Float32Array | AudioStream, options: TranscribeOptions = {}): Promise<Transcript> {
    const { language, task = 'transcribe', return_timestamps: timestamps = true, onSegment, ...generation } = options;
    if (!(audio instanceof Float32Array) && audio.sampleRate !== this.sampleRate) {
      throw new RangeError(`transcribe: the stream is at ${audio.sampleRate} Hz; this model's features need ${this.sampleRate} Hz (openAudio's sampleRate option)`);
    }
    if (task !== 'transcribe' && task !== 'translate') throw new RangeError(`transcribe: task must be 'transcribe' or 'translate', received '${String(task)}'`);
    if (!this.tokens.multilingual && (language !== undefined || task === 'translate')) {
      throw new RangeError(`transcribe: this is an English-only Whisper model; it takes no language and cannot translate (received ${language !== undefined ? `language '${language}'` : "task 'translate'"})`);
    }
    let languageId = language === undefined ? undefined : languageToken(this.tokens, language);
    const source = audio instanceof Float32Array ? 'audio' : audio.info.source;
    const buffer = new WindowBuffer((audio instanceof Float32Array ? arrayBlocks(audio) : audio)[Symbol.asyncIterator]());
    const { nSamples } = this.features.config;
    const segments: Segment[] = [];
    let seek = 0;
    for (;;) {
      const window = await buffer.window(seek, nSamples);
      if (window.length === 0) break;
      const windowSeconds = window.length / this.sampleRate;
      const { data } = await this.features.extract([window]);
      const encoded = await this.session.encode(data, 1);
      if (languageId === undefined && this.tokens.multilingual) languageId = await this.detectLanguage(encoded);
      const prompt = this.prompt(languageId, task, timestamps);
      const out = await generate(this.session.decoderFor(encoded), [prompt], { ...generation, generation_config: this.generationConfig, logits_processor: this.processors(prompt.length, timestamps) });
      const generated = out.newTokens[0]!.filter((id) => id !== this.tokens.endOfText);
      const split = timestamps ? splitWindow(generated, this.tokens, windowSeconds) : { segments: [{ start: 0, end: windowSeconds, tokens: generated.filter((id) => id < this.tokens.endOfText) }], consumed: windowSeconds };
      const offset = seek / this.sampleRate;
      for (const s of split.segments) {
        const segment = { start: offset + s.start, end: offset + s.end, text: this.tokenizer?.decode(s.tokens, { skipSpecialTokens: true }) ?? '', tokens: s.tokens };
        segments.push(segment);
        await onSegment?.(segment);
      }
      seek += Math.max(1, Math.min(window.length, Math.round(split.consumed * this.sampleRate)));
      if (buffer.ended && seek >= buffer.end) break;
    }
    if (seek === 0) throw new EmptyAudioError(source);
    return { text: segments.map((s) => s.text).join(''), segments, language: languageId === undefined ? undefined : languageOf(this.tokens, languageId), duration: buffer.end / this.sampleRate };
  }

  private processors(beginIndex: number, timestamps: boolean) {
    const g = this.generationJson;
    const c = this.session.model.config;
    const list = (key: string, fallback: number[]): number[] => (Array.isArray(g[key]) ? (g[key] as number[]) : fallback);
    const processors = [suppressTokensAtBegin(list('begin_suppress_tokens', c.beginSuppressTokens), beginIndex), suppressTokens(list('suppress_tokens', c.suppressTokens))];
    if (timestamps) {
      const maxInitial = typeof g.max_initial_timestamp_index === 'number' ? g.max_initial_timestamp_index : undefined;
      processors.push(timestampRules({ tokens: this.tokens, beginIndex, maxInitialTimestampIndex: maxInitial }));
    }
    return processors;
  }

  async release(): Promise<void> {
    await Promise.all([this.session.release(), this.features.release()]);
  }
}
