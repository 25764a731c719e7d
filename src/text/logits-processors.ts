/**
 * Logits processors and warpers with transformers' semantics, one row at a time. Each rewrites a
 * row of next-token scores in place, given that row's tokens so far (prompt and padding included,
 * as transformers passes `input_ids`). Filtered tokens get -Infinity.
 */
import type { ResolvedGenerationConfig } from './generation-config.js';
import { softmax } from './sampling.js';

export type LogitsProcessor = ((tokens: readonly number[], scores: Float32Array) => void) & {
  /**
   * Set on processors that only add fixed amounts to some scores, whatever the scores are (a ban
   * adds -Infinity): the [token, amount] pairs after `tokens`. Greedy decoding and plain sampling
   * then add them as a bias inside the model (LanguageModel.choosesTokens), and the logits stay there.
   */
  readonly offsets?: (tokens: readonly number[]) => Iterable<readonly [number, number]>;
};

/** A processor that sets the scores of `banned(tokens)` to -Infinity (ids past the vocabulary are ignored). */
export function banning(banned: (tokens: readonly number[]) => Iterable<number>): LogitsProcessor {
  const process = (tokens: readonly number[], scores: Float32Array): void => {
    for (const id of banned(tokens)) if (id < scores.length) scores[id] = -Infinity;
  };
  return Object.assign(process, { offsets: (tokens: readonly number[]) => Array.from(banned(tokens), (id) => [id, -Infinity] as const) });
}

/** A processor that adds fixed amounts to some tokens' scores (OpenAI's `logit_bias`). */
export function offsetting(amounts: ReadonlyMap<number, number>): LogitsProcessor {
  const pairs = [...amounts];
  const process = (_tokens: readonly number[], scores: Float32Array): void => {
    for (const [id, amount] of pairs) if (id < scores.length) scores[id]! += amount;
  };
  return Object.assign(process, { offsets: () => pairs });
}

const NONE: readonly number[] = [];

/** Tokens already in the sequence: positive scores are divided by `penalty`, negative ones multiplied. */
export function repetitionPenalty(penalty: number): LogitsProcessor {
  if (!(penalty > 0)) throw new Error(`repetitionPenalty: penalty must be positive, received ${penalty}`);
  return (tokens, scores) => {
    for (const token of new Set(tokens)) {
      const score = scores[token]!;
      scores[token] = score < 0 ? score * penalty : score / penalty;
    }
  };
}

/** Bans every token that would repeat an n-gram already in the sequence. */
export function noRepeatNgram(size: number): LogitsProcessor {
  if (!Number.isInteger(size) || size < 1) throw new Error(`noRepeatNgram: size must be a positive integer, received ${size}`);
  return banning((tokens) => {
    const length = tokens.length;
    if (length + 1 < size) return NONE;
    const prefixStart = length - (size - 1);
    const banned: number[] = [];
    for (let start = 0; start + size <= length; start++) {
      let same = true;
      for (let j = 0; j < size - 1 && same; j++) same = tokens[start + j] === tokens[prefixStart + j];
      if (same) banned.push(tokens[start + size - 1]!);
    }
    return banned;
  });
}

/** Bans the EOS tokens while the sequence (prompt included) is shorter than `minLength`. */
export function minLength(length: number, eosTokenIds: readonly number[]): LogitsProcessor {
  return banning((tokens) => (tokens.length < length ? eosTokenIds : NONE));
}

/** Never pick these tokens (transformers' SuppressTokensLogitsProcessor, `suppress_tokens`). */
export function suppressTokens(ids: readonly number[]): LogitsProcessor {
  return banning(() => ids);
}

/** Not as the first generated token, after a `beginIndex`-token prompt (SuppressTokensAtBeginLogitsProcessor, `begin_suppress_tokens`). */
export function suppressTokensAtBegin(ids: readonly number[], beginIndex: number): LogitsProcessor {
  return banning((tokens) => (tokens.length === beginIndex ? ids : NONE));
}

export function temperature(value: number): LogitsProcessor {
  if (!(value > 0)) throw new Error(`temperature: must be positive, received ${value}`);
  return (_tokens, scores) => {
    for (let i = 0; i < scores.length; i++) scores[i]! /= value;
  };
}

/** The scores that are still candidates (not -Infinity), ascending. After top-k these are few. */
function finiteAscending(scores: Float32Array): Float32Array {
  return scores.filter((s) => s !== -Infinity).sort();
}

/** The k-th largest score (k >= 1), by quickselect: linear time, no full sort of the vocabulary. */
function kthLargest(scores: Float32Array, k: number): number {
  const a = Float32Array.from(scores);
  const target = a.length - k;
  let lo = 0;
  let hi = a.length - 1;
  while (lo < hi) {
    const pivot = a[(lo + hi) >> 1]!;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i]! < pivot) i++;
      while (a[j]! > pivot) j--;
      if (i <= j) {
        [a[i], a[j]] = [a[j]!, a[i]!];
        i++;
        j--;
      }
    }
    if (target <= j) hi = j;
    else if (target >= i) lo = i;
    else break;
  }
  return a[target]!;
}

function removeBelow(scores: Float32Array, threshold: number): void {
  for (let i = 0; i < scores.length; i++) if (scores[i]! < threshold) scores[i] = -Infinity;
}

/** Keeps the `k` highest scores (ties with the k-th are kept, as in transformers). */
export function topK(k: number, minTokensToKeep = 1): LogitsProcessor {
  if (!Number.isInteger(k) || k < 1) throw new Error(`topK: k must be a positive integer, received ${k}`);
  return (_tokens, scores) => {
    removeBelow(scores, kthLargest(scores, Math.min(Math.max(k, minTokensToKeep), scores.length)));
  };
}

/**
 * Nucleus filtering: walking up from the least likely token, drop tokens while the cumulative
 * probability stays <= 1 - p; the `minTokensToKeep` most likely always stay.
 */
export function topP(p: number, minTokensToKeep = 1): LogitsProcessor {
  if (!(p >= 0 && p <= 1)) throw new Error(`topP: p must be in [0, 1], received ${p}`);
  return (_tokens, scores) => {
    const sorted = finiteAscending(scores);
    const probs = softmax(sorted);
    const lastRemovable = sorted.length - minTokensToKeep - 1;
    let cumulative = 0;
    let firstKept = 0;
    while (firstKept <= lastRemovable && (cumulative += probs[firstKept]!) <= 1 - p) firstKept++;
    removeBelow(scores, sorted[firstKept]!);
  };
}

/** Drops tokens whose probability is below `p` times the top token's probability. */
export function minP(p: number, minTokensToKeep = 1): LogitsProcessor {
  if (!(p >= 0 && p <= 1)) throw new Error(`minP: p must be in [0, 1], received ${p}`);
  return (_tokens, scores) => {
    const probs = softmax(scores);
    let top = 0;
    for (const prob of probs) top = Math.max(top, prob);
    const keepFloor = kthLargest(scores, Math.min(minTokensToKeep, scores.length));
    for (let i = 0; i < scores.length; i++) if (probs[i]! < p * top && scores[i]! < keepFloor) scores[i] = -Infinity;
  };
}

/**
 * The processors transformers' `_get_logits_processor` builds, in its order: repetition penalty,
 * no-repeat n-gram, min length, then `extra` (the caller's `logits_processor`); then, only when
 * sampling, temperature, top-k, top-p and min-p.
 */
export function buildLogitsProcessors(config: ResolvedGenerationConfig, minTokensToKeep = 1, extra: readonly LogitsProcessor[] = []): LogitsProcessor[] {
  const processors: LogitsProcessor[] = [];
  if (config.repetitionPenalty !== 1) processors.push(repetitionPenalty(config.repetitionPenalty));
  if (config.noRepeatNgramSize > 0) processors.push(noRepeatNgram(config.noRepeatNgramSize));
  if (config.minLength > 0 && config.eosTokenIds.length > 0) processors.push(minLength(config.minLength, config.eosTokenIds));
  processors.push(...extra);
  if (!config.doSample) return processors;
  if (config.temperature !== 1) processors.push(temperature(config.temperature));
  if (config.topK !== 0) processors.push(topK(config.topK, minTokensToKeep));
  if (config.topP < 1) processors.push(topP(config.topP, minTokensToKeep));
  if (config.minP !== undefined) processors.push(minP(config.minP, minTokensToKeep));
  return processors;
}

export function applyLogitsProcessors(processors: readonly LogitsProcessor[], tokens: readonly number[], scores: Float32Array): Float32Array {
  for (const process of processors) process(tokens, scores);
  return scores;
}
