/** Optimizers (Keras defaults) and learning-rate schedules. */
import { Adam, AdamW } from './adam.js';
import type { Optimizer } from './optimizer.js';
import { RMSprop } from './rmsprop.js';
import { SGD } from './sgd.js';

export { Optimizer, Gradient, clipByGlobalNorm, globalNormScale, type OptimizerArgs, type LearningRate, type StepScalars, type ParamGradient } from './optimizer.js';
export { SGD, sgd, type SGDArgs } from './sgd.js';
export { Adam, AdamW, adam, adamw, type AdamArgs, type AdamWArgs } from './adam.js';
export { RMSprop, rmsprop, type RMSpropArgs } from './rmsprop.js';
export * as schedules from './schedules.js';
export type { LearningRateSchedule, CosineDecayArgs } from './schedules.js';

export type OptimizerName = 'sgd' | 'adam' | 'adamw' | 'rmsprop';

const BY_NAME: Record<OptimizerName, () => Optimizer> = {
  sgd: () => new SGD(),
  adam: () => new Adam(),
  adamw: () => new AdamW(),
  rmsprop: () => new RMSprop(),
};

/** A new optimizer with Keras defaults for `name`, or `optimizer` itself. */
export function getOptimizer(optimizer: OptimizerName | Optimizer): Optimizer {
  if (typeof optimizer !== 'string') return optimizer;
  const create = Object.hasOwn(BY_NAME, optimizer) ? BY_NAME[optimizer] : undefined;
  if (!create) throw new Error(`getOptimizer: unknown optimizer '${String(optimizer)}'; known: ${Object.keys(BY_NAME).join(', ')}`);
  return create();
}
