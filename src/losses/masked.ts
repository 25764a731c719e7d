/**
 * Cross-entropy over logits with ignored positions, as PyTorch's
 * cross_entropy(ignore_index=-100) and transformers' causal-LM loss compute it.
 */
import type { Tensor } from '../core/graph.js';
import * as F from '../core/ops/index.js';
import { formatShape } from '../core/shape.js';
import type { Reduction } from './reduction.js';

/** PyTorch's default ignore_index, which transformers uses for masked labels. */
export const IGNORE_INDEX = -100;

export interface MaskedCrossentropyOptions {
  /** Labels equal to this do not count (default -100). */
  ignoreIndex?: number;
  /**
   * 'mean' (default): the sum over counted positions divided by their count;
   * a batch with no counted position gives 0 (PyTorch gives NaN). 'sum': the
   * sum, to divide by a count of your own (e.g. over accumulated batches).
   * 'none': per position, 0 where ignored.
   */
  reduction?: Reduction;
}

/**
 * −log softmax(logits)[label] for integer labels [...] against logits
 * [..., classes], skipping labels equal to `ignoreIndex`.
 */
export function maskedCrossentropy(labels: Tensor, logits: Tensor, opts: MaskedCrossentropyOptions = {}): Tensor {
  if (labels.rank !== logits.rank - 1) {
    throw new Error(`maskedCrossentropy: labels of shape ${formatShape(labels.shape)} do not match logits of shape ${formatShape(logits.shape)} (one label per row of logits)`);
  }
  const ignore = opts.ignoreIndex ?? IGNORE_INDEX;
  const l = F.cast(labels, 'int64');
  const counted = F.not(F.equal(l, ignore));
  // Ignored labels may be out of range (-100): pick class 0 there, and weigh it 0.
  const safe = F.where(counted, l, 0);
  const picked = F.squeeze(F.gatherElements(F.logSoftmax(logits, -1), F.unsqueeze(safe, [-1]), -1), [-1]);
  const weight = F.cast(counted, logits.dtype);
  const perPosition = F.mul(F.neg(picked), weight);
  switch (opts.reduction ?? 'mean') {
    case 'mean':
      return F.div(F.sum(perPosition), F.maximum(F.sum(weight), 1));
    case 'sum':
      return F.sum(perPosition);
    case 'none':
      return perPosition;
    default:
      throw new Error(`maskedCrossentropy: reduction must be 'mean', 'sum' or 'none', received ${JSON.stringify(opts.reduction)}`);
  }
}

/**
 * transformers' causal-LM loss: the logits at position t predict label t + 1,
 * so labels [B, T] are shifted left by one (the last position gets
 * `ignoreIndex`) and scored against every position of logits [B, T, V].
 */
export function causalLmCrossentropy(labels: Tensor, logits: Tensor, opts: MaskedCrossentropyOptions = {}): Tensor {
  if (labels.rank !== 2) throw new Error(`causalLmCrossentropy: labels must be [batch, sequence], received ${formatShape(labels.shape)}`);
  const l = F.cast(labels, 'int64');
  const next = F.slice(l, [1], [Infinity], [1]); // (B, T − 1)
  const last = F.add(F.mul(F.slice(l, [0], [1], [1]), 0), opts.ignoreIndex ?? IGNORE_INDEX); // (B, 1)
  return maskedCrossentropy(F.concat([next, last], 1), logits, opts);
}
