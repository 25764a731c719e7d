/** Token selection from one row of scores: argmax, softmax, and seeded multinomial draws. */
import type { Rng } from '../core/rng.js';

/** Index of the largest score; the first one on ties (as torch.argmax). */
export function argmax(scores: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < scores.length; i++) if (scores[i]! > scores[best]!) best = i;
  return best;
}

function maxOf(scores: ArrayLike<number>): number {
  let max = -Infinity;
  for (let i = 0; i < scores.length; i++) if (scores[i]! > max) max = scores[i]!;
  return max;
}

/** Probabilities in float64; -Infinity scores get probability 0. */
export function softmax(scores: ArrayLike<number>): Float64Array {
  const max = maxOf(scores);
  if (max === -Infinity) throw new Error('softmax: every token has score -Infinity (the logits processors filtered out the whole vocabulary)');
  const probs = new Float64Array(scores.length);
  let sum = 0;
  for (let i = 0; i < scores.length; i++) sum += probs[i] = Math.exp(scores[i]! - max);
  for (let i = 0; i < probs.length; i++) probs[i]! /= sum;
  return probs;
}

/** log(softmax(scores)), as beam search scores candidates. */
export function logSoftmax(scores: ArrayLike<number>): Float32Array {
  const max = maxOf(scores);
  let sum = 0;
  for (let i = 0; i < scores.length; i++) sum += Math.exp(scores[i]! - max);
  const logSum = max + Math.log(sum);
  const out = new Float32Array(scores.length);
  for (let i = 0; i < scores.length; i++) out[i] = scores[i]! - logSum;
  return out;
}

/** One draw from a categorical distribution whose weights need not sum to 1 (zero weights are never drawn). */
export function sampleCategorical(weights: ArrayLike<number>, rng: Rng): number {
  let total = 0;
  for (let i = 0; i < weights.length; i++) total += weights[i]!;
  if (!(total > 0)) throw new Error('sampleCategorical: the weights sum to zero');
  const target = rng.next() * total;
  let acc = 0;
  let last = -1;
  for (let i = 0; i < weights.length; i++) {
    if (weights[i]! <= 0) continue;
    acc += weights[i]!;
    last = i;
    if (target < acc) return i;
  }
  return last; // rounding left target just above the running sum
}

/** `count` distinct draws without replacement (torch.multinomial(replacement=False)), in draw order. */
export function sampleWithoutReplacement(weights: ArrayLike<number>, count: number, rng: Rng): number[] {
  const remaining = Float64Array.from(weights);
  const picks: number[] = [];
  for (let k = 0; k < count; k++) {
    const i = sampleCategorical(remaining, rng);
    picks.push(i);
    remaining[i] = 0;
  }
  return picks;
}
