/**
 * Causal and padding masks as one additive bias. Query t of T new tokens sits
 * at cache position S − T + t; it may see key j when j ≤ that position, the
 * key is not padding, and (with a sliding window) the key is recent enough.
 */
import type { Tensor } from '../../core/graph.js';
import * as F from '../../core/ops/index.js';

/** float32 min, as HF fills masked scores; finite so fully masked (padding) rows stay NaN-free. */
const MASKED = -3.4028234663852886e38;

/** Runtime size of axis `axis` of `x`, as an int64 scalar. */
export function dimOf(x: Tensor, axis: number): Tensor {
  return F.gather(F.shapeOf(x), F.scalar(axis, 'int64'));
}

export interface MaskInputs {
  /** Runtime T (new tokens) and S (cached + new), int64 scalars. */
  queryLength: Tensor;
  totalLength: Tensor;
  /** [B, S] int64, 1 for real tokens; or [B, T, S], 1 where query t may see key s (packed sequences). */
  attentionMask?: Tensor;
  slidingWindow?: number;
}

/** [B or 1, 1, T, S] float: 0 where attention is allowed, float32 min elsewhere. */
export function attentionBias({ queryLength, totalLength, attentionMask, slidingWindow }: MaskInputs): Tensor {
  const keyPos = F.range(0, totalLength); // (S)
  const queryPos = F.unsqueeze(F.range(F.sub(totalLength, queryLength), totalLength), [1]); // (T, 1)
  let allowed = F.lessOrEqual(keyPos, queryPos); // (T, S)
  if (slidingWindow !== undefined) allowed = F.and(allowed, F.greater(keyPos, F.sub(queryPos, slidingWindow)));
  if (attentionMask) {
    const real = F.unsqueeze(F.cast(attentionMask, 'bool'), attentionMask.rank === 3 ? [1] : [1, 2]); // (B, 1, 1 or T, S)
    return F.where(F.and(real, allowed), 0, MASKED); // (B, 1, T, S)
  }
  return F.where(F.unsqueeze(allowed, [0, 1]), 0, MASKED); // (1, 1, T, S)
}
