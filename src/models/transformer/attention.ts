/**
 * Causal self-attention over a KV cache, with grouped-query attention: query
 * heads are grouped by the KV head they share, so K/V are never repeated.
 */
import type { Tensor } from '../../core/graph.js';
import * as F from '../../core/ops/index.js';
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
}

/** Returns the attended values (B, T, nh·hs) and the updated cache (B, n_kv, S, hs). */
export function cachedAttention(shape: AttentionShape, { q, k, v, past, bias, scale, dropout }: AttentionInputs): { out: Tensor; present: KvPair } {
  const { heads, kvHeads, headDim } = shape;
  const group = heads / kvHeads;
  const [batch, steps] = [q.shape[0]!, q.shape[1]!];
  const toCache = (x: Tensor, p?: Tensor) => {
    const t = F.transpose(x, [0, 2, 1, 3]); // (B, n_kv, T, hs)
    return p ? F.concat([p, t], 2) : t; // (B, n_kv, S, hs)
  };
  const key = toCache(k, past?.key);
  const value = toCache(v, past?.value);
  const queryHeads = F.transpose(F.mul(q, scale), [0, 2, 1, 3]); // (B, nh, T, hs)
  // Query heads sharing a KV head become rows of one matrix: (B, n_kv, g·T, hs).
  const query = group > 1 ? F.reshape(queryHeads, [batch, kvHeads, -1, headDim]) : queryHeads;
  let scores = F.matmul(query, F.transposeLast(key)); // (B, n_kv, g·T, S)
  if (group > 1) scores = F.reshape(scores, [batch, kvHeads, group, -1, scores.shape[3]!]); // (B, n_kv, g, T, S)
  // Scores first: broadcasting keeps the first operand's symbolic names, which the reshapes below use.
  let probs = F.softmax(F.add(scores, group > 1 ? F.unsqueeze(bias, [2]) : bias));
  if (dropout) probs = dropout(probs, 'attention');
  if (group > 1) probs = F.reshape(probs, [batch, kvHeads, -1, probs.shape[4]!]);
  let context = F.matmul(probs, value); // (B, n_kv, g·T, hs)
  if (group > 1) context = F.reshapeLike(context, queryHeads); // (B, nh, T, hs)
  const out = F.reshape(F.transpose(context, [0, 2, 1, 3]), [batch, steps, heads * headDim]); // (B, T, nh·hs)
  return { out, present: { key, value } };
}
