/**
 * Metrics computed inside the step and evaluation graphs, as batch means the
 * loop averages over batches weighted by their size (as Keras does).
 */
import type { Tensor } from '../core/graph.js';
import * as F from '../core/ops/index.js';
import { matchLabels, type LossName } from '../losses/index.js';

export type MetricName =
  | 'accuracy'
  | 'acc'
  | 'binaryAccuracy'
  | 'categoricalAccuracy'
  | 'sparseCategoricalAccuracy'
  | 'mse'
  | 'meanSquaredError'
  | 'mae'
  | 'meanAbsoluteError';

/** A metric: its key in the logs and its batch mean. */
export interface Metric {
  name: string;
  compute: (yTrue: Tensor, yPred: Tensor) => Tensor;
}

/** Fraction of predictions on the right side of `threshold` (labels 0/1). */
export function binaryAccuracy(yTrue: Tensor, yPred: Tensor, threshold = 0.5): Tensor {
  const predicted = F.cast(F.greater(yPred, threshold), yPred.dtype);
  return F.mean(F.cast(F.equal(matchLabels(yTrue, yPred, 'binaryAccuracy'), predicted), 'float32'));
}

/** Fraction of rows whose arg-max matches the one-hot label's. */
export function categoricalAccuracy(yTrue: Tensor, yPred: Tensor): Tensor {
  return F.mean(F.cast(F.equal(F.argmax(matchLabels(yTrue, yPred, 'categoricalAccuracy'), -1), F.argmax(yPred, -1)), 'float32'));
}

/** Fraction of rows whose arg-max is the integer label. */
export function sparseCategoricalAccuracy(yTrue: Tensor, yPred: Tensor): Tensor {
  let labels = F.cast(yTrue, 'int64');
  if (labels.rank === yPred.rank) labels = F.squeeze(labels, [-1]);
  return F.mean(F.cast(F.equal(labels, F.argmax(yPred, -1)), 'float32'));
}

const meanSquared = (yTrue: Tensor, yPred: Tensor): Tensor => {
  const d = F.sub(yPred, matchLabels(yTrue, yPred, 'mse'));
  return F.mean(F.mul(d, d));
};
const meanAbsolute = (yTrue: Tensor, yPred: Tensor): Tensor => F.mean(F.abs(F.sub(yPred, matchLabels(yTrue, yPred, 'mae'))));

/**
 * The metric `name` for this loss and output: 'accuracy' means binary accuracy
 * for binary cross-entropy or a single-unit output, sparse categorical for
 * sparse labels, categorical otherwise (Keras' rule).
 */
export function resolveMetric(name: MetricName, loss: LossName | null, outputUnits: number | string | undefined): Metric {
  switch (name) {
    case 'accuracy':
    case 'acc': {
      if (loss === 'binaryCrossentropy' || outputUnits === 1) return { name, compute: (t, p) => binaryAccuracy(t, p) };
      if (loss === 'sparseCategoricalCrossentropy') return { name, compute: sparseCategoricalAccuracy };
      return { name, compute: categoricalAccuracy };
    }
    case 'binaryAccuracy':
      return { name, compute: (t, p) => binaryAccuracy(t, p) };
    case 'categoricalAccuracy':
      return { name, compute: categoricalAccuracy };
    case 'sparseCategoricalAccuracy':
      return { name, compute: sparseCategoricalAccuracy };
    case 'mse':
    case 'meanSquaredError':
      return { name, compute: meanSquared };
    case 'mae':
    case 'meanAbsoluteError':
      return { name, compute: meanAbsolute };
    default:
      throw new Error(`compile: unknown metric '${String(name)}'; known: accuracy, binaryAccuracy, categoricalAccuracy, sparseCategoricalAccuracy, mse, mae`);
  }
}
