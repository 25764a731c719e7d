/**
 * Assisted (speculative) decoding, as transformers' `assistant_model`: a small draft model proposes
 * up to k tokens one at a time, the target scores all of them in one forward pass, the longest
 * prefix the target agrees with is kept plus one token of the target's own, and both caches are
 * cropped back to the kept length. Greedy output is the target's greedy output; with sampling,
 * the speculative-sampling rule (accept a draft token with probability min(1, p/q), otherwise draw
 * from norm(max(0, p − q))) makes every token follow the target's distribution exactly
 * (Leviathan et al. 2023, Chen et al. 2023). The logits processors run on both models' scores,
 * each with its own prefix, as transformers runs them.
 */
import type { Rng } from '../core/rng.js';
import type { ResolvedGenerationConfig } from './generation-config.js';
import type { KVCache, LanguageModel } from './language-model.js';
import { applyLogitsProcessors, type LogitsProcessor } from './logits-processors.js';
import { argmax, sampleCategorical, softmax } from './sampling.js';
import type { StoppingCriterion } from './stopping.js';

/** How many tokens the draft proposes per round, under transformers' names. */
export interface AssistedOptions {
  /** The draft model: same tokenizer (same vocabulary) as the target, usually much smaller. */
  assistant_model?: LanguageModel;
  assistantModel?: LanguageModel;
  /** Tokens drafted per round at the start (transformers' default 20). */
  num_assistant_tokens?: number;
  numAssistantTokens?: number;
  /** 'heuristic': +2 after a round where every draft token was kept, −1 (at least 1) otherwise; 'constant': fixed. Default 'constant', as transformers. */
  num_assistant_tokens_schedule?: 'heuristic' | 'constant';
  numAssistantTokensSchedule?: 'heuristic' | 'constant';
  /** The draft stops a round early once its chosen token's probability falls below this (transformers' default 0.4; 0 turns it off). */
  assistant_confidence_threshold?: number;
  assistantConfidenceThreshold?: number;
}

export interface AssistedSettings {
  draft: LanguageModel;
  numAssistantTokens: number;
  schedule: 'heuristic' | 'constant';
  confidenceThreshold: number;
}

/** What a run did: `accepted / drafted` is the acceptance rate. */
export interface AssistedStats {
  /** Target forward passes after the prompt (one per round). */
  rounds: number;
  drafted: number;
  accepted: number;
}

function pick<T>(options: AssistedOptions, snake: keyof AssistedOptions, camel: keyof AssistedOptions): T | undefined {
  const a = options[snake] as T | undefined;
  const b = options[camel] as T | undefined;
  if (a !== undefined && b !== undefined && a !== b) throw new Error(`generate: ${snake} and ${camel} are both given and differ; give one`);
  return a ?? b;
}

/** The assisted settings of a generate call, or undefined without an assistant model; throws naming the bad option. */
export function resolveAssisted(options: AssistedOptions, target: LanguageModel): AssistedSettings | undefined {
  const draft = pick<LanguageModel>(options, 'assistant_model', 'assistantModel');
  const k = pick<number>(options, 'num_assistant_tokens', 'numAssistantTokens') ?? 20;
  const schedule = pick<'heuristic' | 'constant'>(options, 'num_assistant_tokens_schedule', 'numAssistantTokensSchedule') ?? 'constant';
  const threshold = pick<number>(options, 'assistant_confidence_threshold', 'assistantConfidenceThreshold') ?? 0.4;
  if (!Number.isInteger(k) || k < 1) throw new Error(`generate: num_assistant_tokens must be a positive integer, received ${k}`);
  if (schedule !== 'heuristic' && schedule !== 'constant') {
    throw new Error(`generate: num_assistant_tokens_schedule must be 'heuristic' or 'constant', received ${JSON.stringify(schedule)}`);
  }
  if (!(threshold >= 0 && threshold < 1)) throw new Error(`generate: assistant_confidence_threshold must be in [0, 1), received ${threshold}`);
  if (!draft) return undefined;
  if (typeof draft.forward !== 'function') throw new Error('generate: assistant_model must be a LanguageModel (a loaded CausalLM)');
  if (draft.vocabSize !== target.vocabSize) {
    throw new Error(`generate: assistant_model has a vocabulary of ${draft.vocabSize} tokens, the model ${target.vocabSize}; the draft must share the target's tokenizer`);
  }
  for (const [role, model] of [['model', target], ['assistant_model', draft]] as const) {
    if (typeof model.cropCache !== 'function') throw new Error(`generate: assisted decoding needs a ${role} that can crop its cache (LanguageModel.cropCache)`);
  }
  return { draft, numAssistantTokens: k, schedule, confidenceThreshold: threshold };
}

const int64 = (values: readonly number[]): BigInt64Array => BigInt64Array.from(values, (v) => BigInt(v));

/** One model's view of the shared sequence: its cache covers tokens [0, cached). */
class Follower {
  private cache: KVCache | undefined;
  cached = 0;

  constructor(
    readonly model: LanguageModel,
    private readonly signal: AbortSignal | undefined,
  ) {}

  /** Feeds tokens [cached, upto) and returns the logits of the last one, or of each fed token with `all`. */
  async feed(seq: Sequence, upto: number, all = false): Promise<Float32Array> {
    this.signal?.throwIfAborted();
    const from = this.cached;
    const { logits, cache } = await this.model.forward({
      ids: int64(seq.tokens.slice(from, upto)),
      batch: 1,
      attentionMask: int64(seq.mask.slice(0, upto)),
      positionIds: int64(seq.positions.slice(from, upto)),
      cache: this.cache,
      allLogits: all,
    });
    const rows = all ? upto - from : 1;
    if (logits.length !== rows * this.model.vocabSize) {
      throw new Error(`generate: a model returned ${logits.length} logits, expected ${rows} × vocab ${this.model.vocabSize}`);
    }
    this.cache = cache;
    this.cached = upto;
    return logits;
  }

  /** Forget tokens from `length` on. */
  crop(length: number): void {
    if (length >= this.cached) return;
    this.cache = this.model.cropCache!(this.cache!, length);
    this.cached = length;
  }
}

/** The single row being generated: tokens, attention mask and position ids, all of one length. */
interface Sequence {
  tokens: number[];
  mask: number[];
  positions: number[];
}

function push(seq: Sequence, token: number): void {
  seq.positions.push(seq.mask.reduce((a, b) => a + b, 0));
  seq.tokens.push(token);
  seq.mask.push(1);
}

function truncate(seq: Sequence, length: number): void {
  seq.tokens.length = seq.mask.length = seq.positions.length = length;
}

export interface AssistedDecodeInput {
  target: LanguageModel;
  settings: AssistedSettings;
  /** The prompt (left padding allowed) and its mask. */
  prompt: readonly number[];
  mask: readonly number[];
  config: ResolvedGenerationConfig;
  processors: readonly LogitsProcessor[];
  isDone: StoppingCriterion;
  rng: Rng;
  signal?: AbortSignal;
  /** Receives the new tokens of each round as soon as they are kept. */
  onTokens?: (tokens: readonly number[]) => Promise<void>;
}

export interface AssistedDecodeOutput {
  sequence: number[];
  newTokens: number[];
  stats: AssistedStats;
}

/** Processed scores of one row of logits, given the tokens before it. */
function scored(processors: readonly LogitsProcessor[], tokens: readonly number[], logits: Float32Array, row: number, vocab: number): Float32Array {
  return applyLogitsProcessors(processors, tokens, logits.slice(row * vocab, (row + 1) * vocab));
}

/** Draws from norm(max(0, p − q)); p itself when the difference vanishes (p = q to rounding). */
function residual(p: Float64Array, q: Float64Array, rng: Rng): number {
  const diff = new Float64Array(p.length);
  let total = 0;
  for (let i = 0; i < p.length; i++) total += diff[i] = Math.max(0, p[i]! - q[i]!);
  return sampleCategorical(total > 0 ? diff : p, rng);
}

/**
 * Greedy or sampled decoding of one row with a draft model (transformers' `_assisted_decoding`).
 * The target's cache always ends one token short of the sequence: its last token is fed with the
 * next round's draft tokens, so every round is exactly one target pass.
 */
export async function assistedDecode(input: AssistedDecodeInput): Promise<AssistedDecodeOutput> {
  const { target, settings, config, processors, isDone, rng } = input;
  const vocab = target.vocabSize;
  let seen = 0;
  const seq: Sequence = { tokens: [...input.prompt], mask: [...input.mask], positions: input.mask.map((m) => (m === 1 ? seen++ : 1)) };
  const promptLength = seq.tokens.length;
  const main = new Follower(target, input.signal);
  const draft = new Follower(settings.draft, input.signal);
  const stats: AssistedStats = { rounds: 0, drafted: 0, accepted: 0 };
  const draftLimit = settings.draft.maxPositions;
  let k = settings.numAssistantTokens;

  // The first token comes from the target alone, as plain decoding would give it.
  const first = scored(processors, seq.tokens, await main.feed(seq, promptLength), 0, vocab);
  push(seq, config.doSample ? sampleCategorical(softmax(first), rng) : argmax(first));
  await input.onTokens?.([seq.tokens[promptLength]!]);
  let done = isDone(seq.tokens);

  while (!done) {
    const length = seq.tokens.length;
    // Room for the drafts plus the target's own token, within max length and the draft's context.
    const budget = Math.max(0, Math.min(k, config.maxLength - length - 1, draftLimit - length + 1));
    const drafts: number[] = [];
    const draftProbs: Float64Array[] = [];
    for (let j = 0; j < budget; j++) {
      const scores = scored(processors, seq.tokens, await draft.feed(seq, seq.tokens.length), 0, vocab);
      const q = softmax(scores);
      const token = config.doSample ? sampleCategorical(q, rng) : argmax(scores);
      drafts.push(token);
      draftProbs.push(q);
      push(seq, token);
      if (q[token]! < settings.confidenceThreshold) break;
    }
    stats.drafted += drafts.length;
    // One target pass over the last kept token and the drafts: a distribution after each.
    const logits = await main.feed(seq, seq.tokens.length, true);
    stats.rounds++;
    truncate(seq, length);
    const kept: number[] = [];
    let accepted = 0;
    for (let i = 0; i <= drafts.length && !done; i++) {
      const scores = scored(processors, seq.tokens, logits, i, vocab);
      let token: number;
      if (!config.doSample) {
        token = argmax(scores);
      } else {
        const p = softmax(scores);
        if (i === drafts.length) token = sampleCategorical(p, rng);
        else {
          const d = drafts[i]!;
          token = rng.next() * draftProbs[i]![d]! < p[d]! ? d : residual(p, draftProbs[i]!, rng);
        }
      }
      push(seq, token);
      kept.push(token);
      done = isDone(seq.tokens);
      if (i === drafts.length || token !== drafts[i]) break;
      accepted++;
    }
    stats.accepted += accepted;
    // Caches keep only what both agree on; the newest token is fed next round.
    main.crop(seq.tokens.length - 1);
    draft.crop(seq.tokens.length - 1);
    await input.onTokens?.(kept);
    if (settings.schedule === 'heuristic') k = accepted === k ? k + 2 : Math.max(1, k - 1);
  }
  return { sequence: seq.tokens, newTokens: seq.tokens.slice(promptLength), stats };
}
