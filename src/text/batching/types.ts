/**
 * The continuous-batching engine's contract (src/text/batching/): requests join and leave one running
 * decode batch at step boundaries. The server (src/apps/server/) only talks to this file's types.
 */
import type { LanguageModel } from '../language-model.js';
import type { LogitsProcessor } from '../logits-processors.js';

/** Per-request sampling, with OpenAI's names and meanings. */
export interface SamplingParams {
  /** 0 means greedy. Default 1. */
  temperature?: number;
  /** Nucleus sampling; default 1 (off). */
  top_p?: number;
  /** Seeds this request's own generator, so a seeded request is reproducible whatever else runs beside it. */
  seed?: number;
  /** OpenAI's penalties (-2..2): subtract `presence` once per token seen, `frequency` times its count. */
  presence_penalty?: number;
  frequency_penalty?: number;
}

export interface SequenceRequest {
  /** The tokenized prompt (chat template already applied). */
  promptIds: readonly number[];
  /** New tokens at most; the engine refuses a request whose prompt + maxNewTokens exceeds the model's context. */
  maxNewTokens: number;
  sampling?: SamplingParams;
  /** Token ids that end the sequence (EOS, chat end-of-turn). */
  stopTokenIds?: readonly number[];
  /** Strings that end the sequence; the text returned stops before them (OpenAI's `stop`). */
  stopStrings?: readonly string[];
  /** How many alternatives to report per token with its logprob (OpenAI's top_logprobs, 0–20); undefined: no logprobs. */
  topLogprobs?: number;
  /** Run after the penalties and before temperature/top_p (constrained decoding masks tokens here). */
  logitsProcessors?: readonly LogitsProcessor[];
  /** Which loaded model runs it (a base name, or `base:adapter`); requests of one model share a batch. */
  model?: string;
  /** Cancels the sequence at the next step boundary; its slot is freed then. */
  signal?: AbortSignal;
}

export interface TokenLogprob {
  token: number;
  /** Decoded text of this token alone. */
  text: string;
  /** log-softmax of the model's raw logits; NaN when the request did not ask for logprobs (topLogprobs undefined). */
  logprob: number;
}

/** One generated token, as soon as it is chosen. */
export interface TokenEvent extends TokenLogprob {
  /** Text that became complete with this token (may be empty while a character is cut mid-UTF-8, or held back for a stop string). */
  delta: string;
  /** Present when the request asked for topLogprobs. */
  top?: readonly TokenLogprob[];
}

export type FinishReason = 'stop' | 'length' | 'cancelled';

export interface SequenceResult {
  tokens: number[];
  /** The full generated text, stop string (and stop token) excluded; when cancelled, all text decoded so far. */
  text: string;
  finishReason: FinishReason;
  promptTokens: number;
  completionTokens: number;
  /** Milliseconds from submit to the first token, and between later tokens. */
  timeToFirstTokenMs: number;
  interTokenMs: readonly number[];
}

/** A submitted request: iterate it for tokens as they come, or await `result`. */
export interface SequenceHandle extends AsyncIterable<TokenEvent> {
  readonly result: Promise<SequenceResult>;
  cancel(): void;
}

export interface EngineStats {
  running: number;
  queued: number;
  /** Running sequences per model name. */
  batches: Readonly<Record<string, number>>;
}

/** What the engine needs per model: the LanguageModel and a tokenizer for text deltas and stop strings. */
export interface EngineModel {
  lm: LanguageModel;
  decode(ids: readonly number[]): string;
}

export interface EngineOptions {
  /** Sequences in one running batch, per model. Default 16. */
  maxBatch?: number;
  /** Waiting requests beyond the running ones; submit throws QueueFullError past it. Default 256. */
  maxQueue?: number;
  /**
   * Padded prompt tokens (joiners × longest joining prompt) one step prefills at most, so a burst of
   * long prompts does not stall the running streams for long; one request always joins. Default 2048.
   */
  maxPrefillTokens?: number;
  /**
   * An idle engine's first prefill waits until no request has arrived for this long (at most ten
   * such windows), so a burst of requests shares one prefill instead of trickling in over many
   * steps, each of which stalls the rows already running. Default 10 ms; 0 starts at once.
   */
  admissionWindowMs?: number;
}

export interface BatchEngine {
  /** Throws QueueFullError (the server's 429) when the queue is full, ContextLengthError when the prompt does not fit. */
  submit(request: SequenceRequest): SequenceHandle;
  stats(): EngineStats;
  /** Stop taking requests; `drain` finishes the running and queued ones, otherwise they end as 'cancelled'. */
  close(options?: { drain?: boolean }): Promise<void>;
}
