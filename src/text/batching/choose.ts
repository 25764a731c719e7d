/**
 * Picking one row's next token from the batch's logits with that request's own settings. The hot
 * path (greedy, no penalties or processors) is an argmax over the row in place; the row is copied
 * only when logprobs need the raw scores after the processors rewrote them.
 */
import { Rng } from '../../core/rng.js';
import { topP, type LogitsProcessor } from '../logits-processors.js';
import { argmax, sampleCategorical, softmax } from '../sampling.js';
import type { SamplingParams } from './types.js';

export interface Choice {
  token: number;
  /** log-softmax of the raw logits at `token`; NaN when logprobs were not asked for. */
  logprob: number;
  /** The `topLogprobs` most likely tokens under the raw logits, most likely first. */
  top: { token: number; logprob: number }[] | undefined;
}

export class TokenChooser {
  private readonly temperature: number;
  private readonly topP: LogitsProcessor | undefined;
  private readonly presence: number;
  private readonly frequency: number;
  private readonly rng: Rng;
  /** Generated tokens' counts, for the OpenAI penalties. */
  private readonly counts = new Map<number, number>();
  private readonly plain: boolean;

  constructor(
    sampling: SamplingParams,
    private readonly processors: readonly LogitsProcessor[],
    private readonly topLogprobs: number | undefined,
  ) {
    this.temperature = sampling.temperature ?? 1;
    const p = sampling.top_p ?? 1;
    this.topP = p < 1 && this.temperature > 0 ? topP(p) : undefined;
    this.presence = sampling.presence_penalty ?? 0;
    this.frequency = sampling.frequency_penalty ?? 0;
    this.rng = new Rng(sampling.seed ?? Math.floor(Math.random() * 2 ** 32));
    this.plain = this.temperature === 0 && this.presence === 0 && this.frequency === 0 && processors.length === 0;
  }

  /** `row` is this sequence's slice of the logits (rewritten in place); `tokens` its prompt and generated tokens. */
  choose(row: Float32Array, tokens: readonly number[]): Choice {
    let logSum = 0;
    let top: Choice['top'];
    if (this.topLogprobs !== undefined) {
      logSum = logSumExp(row);
      top = topIndices(row, this.topLogprobs).map((token) => ({ token, logprob: row[token]! - logSum }));
    }
    let token: number;
    if (this.plain) token = argmax(row);
    else {
      // Keep the raw row for the chosen token's logprob.
      const scores = this.topLogprobs !== undefined ? row.slice() : row;
      this.penalise(scores);
      for (const process of this.processors) process(tokens, scores);
      token = this.temperature === 0 ? argmax(scores) : this.sample(scores, tokens);
    }
    const logprob = this.topLogprobs !== undefined ? row[token]! - logSum : NaN;
    this.counts.set(token, (this.counts.get(token) ?? 0) + 1);
    return { token, logprob, top };
  }

  private penalise(scores: Float32Array): void {
    if (this.presence === 0 && this.frequency === 0) return;
    for (const [token, count] of this.counts) scores[token]! -= this.presence + this.frequency * count;
  }

  private sample(scores: Float32Array, tokens: readonly number[]): number {
    if (this.temperature !== 1) for (let i = 0; i < scores.length; i++) scores[i]! /= this.temperature;
    this.topP?.(tokens, scores);
    return sampleCategorical(softmax(scores), this.rng);
  }
}

/** log(sum(exp(row))), stable. */
export function logSumExp(row: ArrayLike<number>): number {
  let max = -Infinity;
  for (let i = 0; i < row.length; i++) if (row[i]! > max) max = row[i]!;
  if (max === -Infinity) return max;
  let sum = 0;
  for (let i = 0; i < row.length; i++) sum += Math.exp(row[i]! - max);
  return max + Math.log(sum);
}

/** The `k` largest entries' indices, largest first (the lower index first on ties), in one pass. */
export function topIndices(row: ArrayLike<number>, k: number): number[] {
  const best: number[] = [];
  if (k <= 0) return best;
  for (let i = 0; i < row.length; i++) {
    const v = row[i]!;
    if (best.length === k && v <= row[best[k - 1]!]!) continue;
    let at = best.length;
    while (at > 0 && row[best[at - 1]!]! < v) at--;
    best.splice(at, 0, i);
    if (best.length > k) best.pop();
  }
  return best;
}
