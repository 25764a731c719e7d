/**
 * Causal self-attention over a KV cache, with grouped-query attention: query
 * heads are grouped by the KV head they share, so K/V are never repeated.
 */
import type { Tensor } from '../../core/graph.js';
import * as F from '../../core/ops/index.js';
import { dimOf } from './mask.js';
import type { DropoutSite, KvPair } from './types.js';

export interface AttentionShape {
  heads: number;
  kvHeads: number;
  headDim: number;
}

/** (B, T, n·hs) → (B, T, n, hs). */
export function splitHeads(x: Tensor, heads: number, headDim: number): Tensor {
  return F.reshape(x, [x.shape[0]!, x.shape[1]!, heads, headDim]);
}

export interface AttentionInputs {
  /** (B, T, nh, hs) */
  q: Tensor;
  /** (B, T, n_kv, hs) */
  k: Tensor;
  v: Tensor;
  /** (B, n_kv, P, hs) each */
  past?: KvPair;
  /** (B or 1, 1, T, S) additive mask */
  bias: Tensor;
  /** Multiplies the scores; usually 1/√hs. */
  scale: number;
  dropout?: (x: Tensor, site: DropoutSite) => Tensor;
  /** Attend to past and new positions apart and return only the new ones as `present`: no copy of the past. */
  newPositionsOnly?: boolean;
}

/**
 * Returns the attended values (B, T, nh·hs) and the cache: past and new positions (B, n_kv, S, hs),
 * or with `newPositionsOnly` the new ones (B, n_kv, T, hs). That mode scores the past and the new keys
 * apart and joins only the scores (B, n_kv, g·T, P + T), where concatenating K and V would copy the
 * whole cache every step.
 */
export function cachedAttention(shape: AttentionShape, { q, k, v, past, bias, scale, dropout, newPositionsOnly }: AttentionInputs): { out: Tensor; present: KvPair } {
  const { heads, kvHeads, headDim } = shape;
  const group = heads / kvHeads;
  const [batch, steps] = [q.shape[0]!, q.shape[1]!];
  const heads4 = (x: Tensor) => F.transpose(x, [0, 2, 1, 3]); // (B, T, n, hs) → (B, n, T, hs)
  const [newKey, newValue] = [heads4(k), heads4(v)];
  const apart = newPositionsOnly === true && past !== undefined;
  const key = past && !apart ? F.concat([past.key, newKey], 2) : newKey; // (B, n_kv, S, hs)
  const value = past && !apart ? F.concat([past.value, newValue], 2) : newValue;
  const queryHeads = heads4(F.mul(q, scale)); // (B, nh, T, hs)
  // Query heads sharing a KV head become rows of one matrix: (B, n_kv, g·T, hs).
  const query = group > 1 ? F.reshape(queryHeads, [batch, kvHeads, -1, headDim]) : queryHeads;
  const scoresOver = (keys: Tensor) => F.matmul(query, F.transposeLast(keys));
  let scores = apart ? F.concat([scoresOver(past.key), scoresOver(newKey)], 3) : scoresOver(key); // (B, n_kv, g·T, S)
  if (group > 1) scores = F.reshape(scores, [batch, kvHeads, group, -1, scores.shape[3]!]); // (B, n_kv, g, T, S)
  // Scores first: broadcasting keeps the first operand's symbolic names, which the reshapes below use.
  let probs = F.softmax(F.add(scores, group > 1 ? F.unsqueeze(bias, [2]) : bias));
  if (dropout) probs = dropout(probs, 'attention');
  if (group > 1) probs = F.reshape(probs, [batch, kvHeads, -1, probs.shape[4]!]);
  let context: Tensor; // (B, n_kv, g·T, hs)
  if (apart) {
    const pastLength = dimOf(past.key, 2);
    const total = dimOf(probs, 3);
    const over = (from: Tensor | number, to: Tensor, values: Tensor) => F.matmul(F.gather(probs, F.range(from, to), 3), values);
    context = F.add(over(0, pastLength, past.value), over(pastLength, total, newValue));
  } else {
    context = F.matmul(probs, value);
  }
  if (group > 1) context = F.reshapeLike(context, queryHeads); // (B, nh, T, hs)
  const out = F.reshape(F.transpose(context, [0, 2, 1, 3]), [batch, steps, heads * headDim]); // (B, T, nh·hs)
  return { out, present: { key, value } };
}
