/** How per-example losses become the scalar that is minimised, and label/prediction shape matching. */
import type { Tensor } from '../core/graph.js';
import { cast, mean, mul, squeeze, sum, unsqueeze } from '../core/ops/index.js';
import { formatShape, sizeOf } from '../core/shape.js';

/**
 * 'mean' (Keras' sum_over_batch_size, the default): the mean of the
 * per-example losses. 'sum': their sum. 'none': the per-example losses.
 */
export type Reduction = 'mean' | 'sum' | 'none';

export interface LossOptions {
  reduction?: Reduction;
}

/** A loss as compile() and TrainStep take it: labels first, as in Keras. */
export type LossFn = (yTrue: Tensor, yPred: Tensor) => Tensor;

export function reduceLoss(perExample: Tensor, reduction: Reduction = 'mean'): Tensor {
  switch (reduction) {
    case 'mean':
      return meanOfAll(perExample);
    case 'sum':
      return sum(perExample);
    case 'none':
      return perExample;
    default:
      throw new Error(`loss: reduction must be 'mean', 'sum' or 'none', received ${JSON.stringify(reduction)}`);
  }
}

/**
 * Per-example means over the last axis, reduced: with 'mean' this is the mean
 * of every element, taken in one reduction (its gradient is one broadcast
 * instead of two).
 */
export function reduceMeanOverLast(elementwise: Tensor, reduction: Reduction = 'mean'): Tensor {
  return reduction === 'mean' ? meanOfAll(elementwise) : reduceLoss(meanOverLast(elementwise), reduction);
}

// Σx / n with n static: the gradient scales the small reduced tensor, not a full one.

/** Mean of every element. */
function meanOfAll(x: Tensor): Tensor {
  const n = sizeOf(x.shape);
  return n === null ? mean(x) : mul(sum(x), 1 / n);
}

/** Mean over the last axis. */
export function meanOverLast(x: Tensor): Tensor {
  const n = x.shape[x.rank - 1];
  return typeof n === 'number' ? mul(sum(x, [-1]), 1 / n) : mean(x, [-1]);
}

/**
 * Labels as a float tensor of the predictions' rank: a missing trailing axis
 * of size 1 is added ([batch] labels against [batch, 1] predictions) or an
 * extra one dropped, as Keras does.
 */
export function matchLabels(yTrue: Tensor, yPred: Tensor, where: string): Tensor {
  let y = yTrue.dtype === yPred.dtype ? yTrue : cast(yTrue, yPred.dtype);
  if (y.rank === yPred.rank - 1 && yPred.shape[yPred.rank - 1] === 1) y = unsqueeze(y, [-1]);
  else if (y.rank === yPred.rank + 1 && y.shape[y.rank - 1] === 1) y = squeeze(y, [-1]);
  if (y.rank !== yPred.rank) {
    throw new Error(`${where}: labels of shape ${formatShape(yTrue.shape)} do not match predictions of shape ${formatShape(yPred.shape)}`);
  }
  return y;
}
