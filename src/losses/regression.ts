/** Regression losses, averaged over the last axis per example. */
import type { Tensor } from '../core/graph.js';
import * as F from '../core/ops/index.js';
import { matchLabels, reduceMeanOverLast, type LossOptions } from './reduction.js';

/** mean((ŷ − y)²) over the last axis. */
export function meanSquaredError(yTrue: Tensor, yPred: Tensor, opts: LossOptions = {}): Tensor {
  const diff = F.sub(yPred, matchLabels(yTrue, yPred, 'meanSquaredError'));
  return reduceMeanOverLast(F.mul(diff, diff), opts.reduction);
}

/** mean(|ŷ − y|) over the last axis. */
export function meanAbsoluteError(yTrue: Tensor, yPred: Tensor, opts: LossOptions = {}): Tensor {
  return reduceMeanOverLast(F.abs(F.sub(yPred, matchLabels(yTrue, yPred, 'meanAbsoluteError'))), opts.reduction);
}
