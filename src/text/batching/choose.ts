/**
 * Picking one row's next token with that request's own settings. When the model chooses tokens
 * itself (LanguageModel.choosesTokens) and the request needs neither logprobs nor top-p, and its
 * processors only add fixed amounts, the penalties and processors become the row's bias and the
 * model takes the argmax or the draw (`planInModel`, then `accept`): the same random number as the
 * JavaScript draw, on a float32 softmax, so only a draw within ~1e-7 of a boundary can differ from
 * generate's for the same seed. Otherwise the row's logits come
 * back: the hot path (greedy, no penalties or processors) is an argmax over the row in place, and
 * the row is copied only when logprobs need the raw scores after the processors rewrote them.
 */
import { Rng } from '../../core/rng.js';
import type { LogitsProcessor } from '../logits-processors.js';
import { argmax } from '../sampling.js';
import { TokenBias } from '../token-bias.js';
import type { SamplingParams } from './types.js';

/** How the model picks a row's token: its argmax, or a draw at this temperature and uniform number. */
export type InModelChoice = { kind: 'greedy' } | { kind: 'sample'; temperature: number; uniform: number };

export interface Choice {
  token: number;
  /** log-softmax of the raw logits at `token`; NaN when logprobs were not asked for. */
  logprob: number;
  /** The `topLogprobs` most likely tokens under the raw logits, most likely first. */
  top: { token: number; logprob: number }[] | undefined;
}

export class TokenChooser {
  private readonly temperature: number;
  private readonly topP: number;
  private readonly presence: number;
  private readonly frequency: number;
  private readonly rng: Rng;
  /** Generated tokens' counts, for the OpenAI penalties. */
  private readonly counts = new Map<number, number>();
  private readonly plain: boolean;
  private readonly modelCanChoose: boolean;

  constructor(
    sampling: SamplingParams,
    private readonly processors: readonly LogitsProcessor[],
    private readonly topLogprobs: number | undefined,
  ) {
    this.temperature = sampling.temperature ?? 1;
    this.topP = sampling.top_p ?? 1;
    this.presence = sampling.presence_penalty ?? 0;
    this.frequency = sampling.frequency_penalty ?? 0;
    this.rng = new Rng(sampling.seed ?? Math.floor(Math.random() * 2 ** 32));
    this.plain = this.temperature === 0 && this.presence === 0 && this.frequency === 0 && processors.length === 0;
    this.modelCanChoose = topLogprobs === undefined && this.topP >= 1 && TokenBias.covers(processors);
  }

  /**
   * When the model can make this row's choice: adds the penalties and processors to `row` of `bias`
   * and says how to pick (a draw takes this request's next random number). Undefined: the row needs
   * its logits (`choose`).
   */
  planInModel(tokens: readonly number[], bias: TokenBias, row: number): InModelChoice | undefined {
    if (!this.modelCanChoose) return undefined;
    if (this.presence !== 0 || this.frequency !== 0) for (const [token, count] of this.counts) bias.add(row, token, -(this.presence + this.frequency * count));
    bias.addProcessors(row, this.processors, tokens);
    return this.temperature === 0 ? { kind: 'greedy' } : { kind: 'sample', temperature: this.temperature, uniform: this.rng.next() };
  }

  /** Records the token the model picked after `planInModel`. */
  accept(token: number): Choice {
    this.counts.set(token, (this.counts.get(token) ?? 0) + 1);
    return { token, logprob: NaN, top: undefined };
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
      token = this.temperature === 0 ? argmax(scores) : this.sample(scores);
    }
    const logprob = this.topLogprobs !== undefined ? row[token]! - logSum : NaN;
    this.counts.set(token, (this.counts.get(token) ?? 0) + 1);
    return { token, logprob, top };
  }

  private penalise(scores: Float32Array): void {
    if (this.presence === 0 && this.frequency === 0) return;
    for (const [token, count] of this.counts) scores[token]! -= this.presence + this.frequency * count;
  }

  /** softmax(scores / temperature), top-p, one draw: as generate's sampling (same draws for a seed), in a few passes over the row. */
  private sample(scores: Float32Array): number {
    const t = this.temperature;
    let max = -Infinity;
    for (let i = 0; i < scores.length; i++) if (scores[i]! > max) max = scores[i]!;
    if (max === -Infinity) throw new Error('batch engine: every token has score -Infinity (the logits processors filtered out the whole vocabulary)');
    // Float32 division, as the temperature processor rounds.
    const top = Math.fround(max / t);
    const weights = scratch(scores.length, 0);
    let total = 0;
    for (let i = 0; i < scores.length; i++) total += weights[i] = Math.exp(Math.fround(scores[i]! / t) - top);
    const floor = this.topP < 1 ? nucleusFloor(weights.subarray(0, scores.length), this.topP, total) : Number.MIN_VALUE;
    let kept = total;
    if (this.topP < 1) {
      kept = 0;
      for (let i = 0; i < scores.length; i++) if (weights[i]! >= floor) kept += weights[i]!;
    }
    // sampleCategorical's walk over the kept weights.
    const target = this.rng.next() * kept;
    let acc = 0;
    let last = -1;
    for (let i = 0; i < scores.length; i++) {
      const w = weights[i]!;
      if (w < floor || w <= 0) continue;
      acc += w;
      last = i;
      if (target < acc) return i;
    }
    return last;
  }
}

/** Reused work buffers (token choice is synchronous, so one set serves every row). */
const buffers: Float64Array[] = [];
function scratch(length: number, which: number): Float64Array {
  if (!buffers[which] || buffers[which]!.length < length) buffers[which] = new Float64Array(length);
  return buffers[which]!;
}

/**
 * The smallest weight nucleus (top-p) sampling keeps, as transformers' top-p: a token stays while
 * the tokens more likely than it hold less than `p` of the mass (ties with the last one kept stay
 * too). A weighted quickselect: linear time, where sorting the vocabulary costs O(V log V) per row.
 */
export function nucleusFloor(weights: ArrayLike<number>, p: number, total?: number): number {
  const a = scratch(weights.length, 1);
  let hi = 0;
  let sum = 0;
  for (let i = 0; i < weights.length; i++) {
    const w = weights[i]!;
    if (w > 0) {
      a[hi++] = w;
      sum += w;
    }
  }
  let lo = 0;
  let need = p * (total ?? sum); // mass still needed from a[lo, hi), after what lies above it
  let seed = 0x9e3779b9;
  for (;;) {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    const pivot = a[lo + ((seed >>> 8) % (hi - lo))]!;
    // Partition a[lo, hi) into greater | equal | less.
    let gt = lo;
    let lt = hi;
    let i = lo;
    let greater = 0;
    let equal = 0;
    while (i < lt) {
      const v = a[i]!;
      if (v > pivot) {
        greater += v;
        a[i] = a[gt]!;
        a[gt++] = v;
        i++;
      } else if (v < pivot) {
        a[i] = a[--lt]!;
        a[lt] = v;
      } else {
        equal += v;
        i++;
      }
    }
    if (greater >= need && gt > lo) hi = gt;
    else if (greater + equal >= need || lt === hi) return pivot;
    else {
      need -= greater + equal;
      lo = lt;
    }
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
