/**
 * Whisper's timestamp rules with transformers' semantics (WhisperTimeStampLogitsProcessor), as
 * text/logits-processors' LogitsProcessor: it rewrites one row of scores given that row's tokens so
 * far (the forced prompt included). Whisper's suppress lists use text/logits-processors' own.
 */
import type { LogitsProcessor } from '../../text/logits-processors.js';
import type { WhisperTokens } from './tokens.js';

function logSumExp(scores: Float32Array, from: number, to: number): number {
  let max = -Infinity;
  for (let i = from; i < to; i++) max = Math.max(max, scores[i]!);
  if (max === -Infinity) return -Infinity;
  let sum = 0;
  for (let i = from; i < to; i++) sum += Math.exp(scores[i]! - max);
  return max + Math.log(sum);
}

export interface TimestampRules {
  tokens: WhisperTokens;
  /** Length of the forced prompt: generated tokens start here. */
  beginIndex: number;
  /** Latest first timestamp, in 0.02 s steps (generation_config's max_initial_timestamp_index, 50 = 1 s). */
  maxInitialTimestampIndex?: number | undefined;
}

/**
 * Timestamps come in pairs (segment end then next start), never go back, and the first generated
 * token is a timestamp no later than maxInitialTimestampIndex. When the timestamps together are
 * more likely than any single text token, a timestamp is forced.
 */
export function timestampRules({ tokens: t, beginIndex, maxInitialTimestampIndex }: TimestampRules): LogitsProcessor {
  const begin = t.timestampBegin;
  const eot = t.endOfText;
  return (tokens, scores) => {
    const vocab = scores.length;
    const fill = (from: number, to: number) => scores.fill(-Infinity, from, Math.min(to, vocab));
    scores[t.noTimestamps] = -Infinity;
    const sampled = tokens.slice(beginIndex);
    const lastWasTimestamp = sampled.length >= 1 && sampled[sampled.length - 1]! >= begin;
    const penultimateWasTimestamp = sampled.length < 2 || sampled[sampled.length - 2]! >= begin;
    if (lastWasTimestamp) {
      if (penultimateWasTimestamp) fill(begin, vocab); // a pair just closed: text next
      else fill(0, eot); // a timestamp must follow (or the end)
    }
    const timestamps = sampled.filter((id) => id >= begin);
    if (timestamps.length > 0) {
      // Never earlier than the last one; after a closed pair, not even equal (openai/whisper#914).
      const last = timestamps[timestamps.length - 1]!;
      fill(begin, lastWasTimestamp && !penultimateWasTimestamp ? last : last + 1);
    }
    if (tokens.length === beginIndex) {
      const eos = scores[eot]!;
      fill(0, begin);
      scores[eot] = eos;
      if (maxInitialTimestampIndex !== undefined) fill(begin + maxInitialTimestampIndex + 1, vocab);
    }
    // Compare in log-probabilities: the timestamps' total against the best text token.
    const norm = logSumExp(scores, 0, vocab);
    const timestampLogProb = logSumExp(scores, begin, vocab) - norm;
    let maxText = -Infinity;
    for (let i = 0; i < begin; i++) maxText = Math.max(maxText, scores[i]!);
    if (timestampLogProb > maxText - norm) fill(0, begin);
  };
}
