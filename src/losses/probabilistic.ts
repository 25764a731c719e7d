/**
 * Cross-entropies and KL divergence, with Keras' conventions: probabilities
 * are clipped to [ε, 1 − ε] (ε = 1e-7) before the log; `fromLogits`, and
 * probabilities that come straight from a sigmoid or softmax, use the
 * numerically stable forms on the logits instead.
 */
import type { Tensor } from '../core/graph.js';
import * as F from '../core/ops/index.js';
import { formatShape } from '../core/shape.js';
import { matchLabels, meanOverLast, reduceLoss, reduceMeanOverLast, type LossOptions } from './reduction.js';

/** Keras' backend epsilon. */
export const EPSILON = 1e-7;

export interface CrossentropyOptions extends LossOptions {
  /** Predictions are logits rather than probabilities. */
  fromLogits?: boolean;
}

/**
 * Binary cross-entropy, averaged over the last axis:
 * probabilities p: −[y·log(p + ε) + (1 − y)·log(1 − p + ε)] with p clipped to [ε, 1 − ε];
 * logits x (or p = sigmoid(x) traced in the same graph): max(x, 0) − x·y + log(1 + e^(−|x|)).
 */
export function binaryCrossentropy(yTrue: Tensor, yPred: Tensor, opts: CrossentropyOptions = {}): Tensor {
  const y = matchLabels(yTrue, yPred, 'binaryCrossentropy');
  const logits = opts.fromLogits ? yPred : inputOf(yPred, 'Sigmoid');
  if (logits) return reduceLoss(sigmoidCrossentropy(logits, y), opts.reduction);
  const p = F.clip(yPred, EPSILON, 1 - EPSILON);
  const positive = F.mul(y, F.log(F.add(p, EPSILON)));
  const negative = F.mul(F.sub(1, y), F.log(F.add(F.sub(1, p), EPSILON)));
  return reduceMeanOverLast(F.neg(F.add(positive, negative)), opts.reduction);
}

/**
 * Per example, the mean over the last axis of max(x, 0) − x·y + log(1 + e^(−|x|)),
 * with its gradient given directly as ∂/∂x = σ(x) − y (and ∂/∂y = −x): exact,
 * and a few vectorised passes instead of the chain rule through abs, softplus
 * and relu (ONNX Runtime runs Softplus, Sign and Where element by element,
 * several times slower). The value and the gradient carrier are reduced per
 * example before they are combined, so combining them costs nothing.
 */
function sigmoidCrossentropy(x: Tensor, y: Tensor): Tensor {
  const value = F.add(meanOverLast(F.sub(F.relu(x), F.mul(x, y))), meanLogOverLast(F.add(F.exp(F.neg(F.abs(x))), 1)));
  let surrogate = F.mul(x, F.stopGradient(F.sub(F.sigmoid(x), y)));
  // Labels fed as data never need a gradient; only soft labels computed in the graph do.
  if (y.source.kind === 'node') surrogate = F.sub(surrogate, F.mul(y, F.stopGradient(x)));
  return F.withGradientOf(F.stopGradient(value), meanOverLast(surrogate));
}

/** Most factors multiplied before one log: each is in (1, 2], so 2^64 stays far inside float32. */
const MAX_LOG_GROUP = 64;
const MIN_LOG_GROUP = 8;

/**
 * The mean of log(factors) over the last axis, for factors in (1, 2], taken as
 * a sum of logs of products of groups: ONNX Runtime's CPU Log runs element by
 * element (10× an Exp), so one Log per group of up to 64 cuts the loss'
 * forward time by a third on a 784-pixel autoencoder. Rounding grows by at
 * most the group size in ulps of each group's log, ~1e-7 of the loss.
 */
function meanLogOverLast(factors: Tensor): Tensor {
  const n = factors.shape[factors.rank - 1];
  const group = typeof n === 'number' && factors.dtype === 'float32' ? largestDivisorUpTo(n, MAX_LOG_GROUP) : 1;
  if (typeof n !== 'number' || group < MIN_LOG_GROUP) return meanOverLast(F.log(factors));
  const grouped = F.reshape(factors, [...factors.shape.slice(0, -1), n / group, group]);
  return F.mul(F.sum(F.log(F.prod(grouped, [-1])), [-1]), 1 / n);
}

function largestDivisorUpTo(n: number, limit: number): number {
  for (let d = Math.min(n, limit); d > 1; d--) if (n % d === 0) return d;
  return 1;
}

/**
 * Categorical cross-entropy over the last axis with one-hot (or soft) labels:
 * −Σ y·log p, with p renormalised to sum to 1 and clipped to [ε, 1 − ε];
 * with logits, −Σ y·logSoftmax(x).
 */
export function categoricalCrossentropy(yTrue: Tensor, yPred: Tensor, opts: CrossentropyOptions = {}): Tensor {
  const y = matchLabels(yTrue, yPred, 'categoricalCrossentropy');
  return reduceLoss(F.neg(F.sum(F.mul(y, logProbabilities(yPred, opts.fromLogits)), [-1])), opts.reduction);
}

/**
 * Categorical cross-entropy with integer class labels: −log p[label], where
 * labels are [batch] (or [batch, 1]) class indices and predictions [batch, classes].
 */
export function sparseCategoricalCrossentropy(yTrue: Tensor, yPred: Tensor, opts: CrossentropyOptions = {}): Tensor {
  let labels = F.cast(yTrue, 'int64');
  if (labels.rank === yPred.rank && labels.shape[labels.rank - 1] === 1) labels = F.squeeze(labels, [-1]);
  if (labels.rank !== yPred.rank - 1) {
    throw new Error(`sparseCategoricalCrossentropy: labels of shape ${formatShape(yTrue.shape)} do not match predictions of shape ${formatShape(yPred.shape)}`);
  }
  // Pick each label's log-probability; a one-hot [..., classes] tensor would cost GBs at GPT-2's vocabulary.
  const picked = F.gatherElements(logProbabilities(yPred, opts.fromLogits), F.unsqueeze(labels, [-1]), -1);
  return reduceLoss(F.neg(F.squeeze(picked, [-1])), opts.reduction);
}

function logProbabilities(yPred: Tensor, fromLogits = false): Tensor {
  if (fromLogits) return F.logSoftmax(yPred, -1);
  const logits = inputOf(yPred, 'Softmax', yPred.rank - 1);
  if (logits) return F.logSoftmax(logits, -1);
  const p = F.div(yPred, F.sum(yPred, [-1], true));
  return F.log(F.clip(p, EPSILON, 1 - EPSILON));
}

/**
 * The input of the op that produced `t`, if that op is `opName` (over the last
 * axis, for softmax). Probabilities straight out of a sigmoid or softmax are
 * then computed from their logits, exactly and stably, as Keras' TensorFlow
 * backend does; no clipping is needed there.
 */
function inputOf(t: Tensor, opName: 'Sigmoid' | 'Softmax', axis?: number): Tensor | null {
  if (t.source.kind !== 'node') return null;
  const node = t.source.node;
  if (node.op.name !== opName || (axis !== undefined && node.attrs.axis !== axis)) return null;
  return node.inputs[0]!;
}

/** Kullback-Leibler divergence Σ y·log(y / p) over the last axis, both clipped to [ε, 1]. */
export function kld(yTrue: Tensor, yPred: Tensor, opts: LossOptions = {}): Tensor {
  const y = F.clip(matchLabels(yTrue, yPred, 'kld'), EPSILON, 1);
  const p = F.clip(yPred, EPSILON, 1);
  return reduceLoss(F.sum(F.mul(y, F.log(F.div(y, p))), [-1]), opts.reduction);
}
