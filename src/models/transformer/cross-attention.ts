/**
 * Attention over keys and values that need no causal mask: an encoder's own
 * self-attention (ViT, Whisper's encoder) and a decoder's cross-attention over
 * the encoder output. K/V are kept in cache layout (B, n, S, hs), so an
 * encoder-decoder computes them once per input and feeds them to every step.
 */
import type { Tensor } from '../../core/graph.js';
import * as F from '../../core/ops/index.js';
import type { KvPair } from './types.js';

/** Keys and values (B, S, n·hs) each → cache layout (B, n, S, hs). */
export function keyValueHeads(key: Tensor, value: Tensor, heads: number, headDim: number): KvPair {
  const toHeads = (x: Tensor) => F.transpose(F.reshape(x, [x.shape[0]!, x.shape[1]!, heads, headDim]), [0, 2, 1, 3]);
  return { key: toHeads(key), value: toHeads(value) };
}

export interface UnmaskedAttentionOptions {
  /** Multiplies the scores; usually 1/√hs. */
  scale: number;
  /** (B or 1, 1, 1 or T, S) additive mask, e.g. encoder padding; default none. */
  bias?: Tensor;
}

/**
 * An encoder's self-attention: q, k and v (B, T, nh·hs) each → (B, T, nh·hs), every position seeing
 * every other. `fused` runs it as ORT's MultiHeadAttention (core/ops/fused.ts), for inference graphs
 * only ORT runs.
 */
export function encoderSelfAttention(q: Tensor, k: Tensor, v: Tensor, heads: number, { scale, fused = false }: { scale: number; fused?: boolean }): Tensor {
  if (fused) return F.fusedAttention(q, k, v, heads, scale);
  const headDim = (q.shape[2] as number) / heads;
  return unmaskedAttention(F.reshape(q, [q.shape[0]!, q.shape[1]!, heads, headDim]), keyValueHeads(k, v, heads, headDim), { scale });
}

/** q (B, T, nh, hs) over `kv` (B, nh, S, hs) → (B, T, nh·hs). Every query sees every key. */
export function unmaskedAttention(q: Tensor, kv: KvPair, { scale, bias }: UnmaskedAttentionOptions): Tensor {
  const [batch, steps, heads, headDim] = q.shape;
  if (typeof heads !== 'number' || typeof headDim !== 'number') throw new Error(`unmaskedAttention: q must have static heads and head size, received ${q}`);
  const query = F.transpose(F.mul(q, scale), [0, 2, 1, 3]); // (B, nh, T, hs)
  const scores = F.matmul(query, F.transposeLast(kv.key)); // (B, nh, T, S)
  const probs = F.softmax(bias ? F.add(scores, bias) : scores);
  const context = F.matmul(probs, kv.value); // (B, nh, T, hs)
  return F.reshape(F.transpose(context, [0, 2, 1, 3]), [batch!, steps!, heads * headDim]); // (B, T, nh·hs)
}
