/**
 * sentence-transformers' Pooling and Normalize modules as traced ops, so that
 * they run inside the inference graph and can be differentiated (contrastive
 * fine-tuning pools in the step graph).
 */
import type { Tensor } from '../../core/graph.js';
import * as F from '../../core/ops/index.js';
import { clsToken } from './model.js';

export const POOLING_MODES = ['mean', 'cls', 'max'] as const;
export type PoolingMode = (typeof POOLING_MODES)[number];

export const isPoolingMode = (v: unknown): v is PoolingMode => (POOLING_MODES as readonly unknown[]).includes(v);

/** hidden (B, T, H) and attention mask (B, T) int64 → (B, H), as sentence-transformers' Pooling computes it. */
export function pool(hidden: Tensor, attentionMask: Tensor, mode: PoolingMode): Tensor {
  if (mode === 'cls') return clsToken(hidden);
  const real = F.unsqueeze(F.cast(attentionMask, 'bool'), [2]); // (B, T, 1)
  // Padding set to -1e9 rather than -inf, as sentence-transformers does.
  if (mode === 'max') return F.max(F.where(real, hidden, -1e9), [1]);
  const weights = F.cast(real, 'float32');
  const summed = F.sum(F.mul(hidden, weights), [1]); // (B, H)
  return F.div(summed, F.maximum(F.sum(weights, [1]), 1e-9)); // / max(tokens, 1e-9)
}

/** x / max(‖x‖₂, 1e-12) over the last axis, as torch.nn.functional.normalize. */
export function l2Normalize(x: Tensor): Tensor {
  return F.div(x, F.maximum(F.sqrt(F.sum(F.mul(x, x), [-1], true)), 1e-12));
}
