/** Activation functions by Keras name (camelCase), for layers' `activation` option. */
import type { Tensor } from '../core/graph.js';
import * as F from '../core/ops/index.js';

export type ActivationName =
  | 'linear'
  | 'relu'
  | 'relu6'
  | 'sigmoid'
  | 'hardSigmoid'
  | 'tanh'
  | 'softmax'
  | 'logSoftmax'
  | 'gelu'
  | 'silu'
  | 'swish'
  | 'leakyRelu'
  | 'elu'
  | 'selu'
  | 'softplus'
  | 'softsign'
  | 'exponential';

type Activation = (x: Tensor) => Tensor;

// SELU constants from Klambauer et al. (2017).
const SELU_ALPHA = 1.6732632423543772;
const SELU_SCALE = 1.0507009873554805;

const elu = (x: Tensor, alpha = 1): Tensor => F.where(F.greater(x, 0), x, F.mul(F.sub(F.exp(F.minimum(x, 0)), 1), alpha));

const ACTIVATIONS: Record<ActivationName, Activation> = {
  linear: (x) => x,
  relu: F.relu,
  relu6: (x) => F.clip(x, 0, 6),
  sigmoid: F.sigmoid,
  // Keras 3: relu6(x + 3) / 6
  hardSigmoid: (x) => F.div(F.clip(F.add(x, 3), 0, 6), 6),
  tanh: F.tanh,
  softmax: (x) => F.softmax(x, -1),
  logSoftmax: (x) => F.logSoftmax(x, -1),
  gelu: (x) => F.gelu(x),
  silu: F.silu,
  swish: F.silu,
  // Keras' activations.leaky_relu default slope.
  leakyRelu: (x) => F.leakyRelu(x, 0.2),
  elu: (x) => elu(x),
  selu: (x) => F.mul(elu(x, SELU_ALPHA), SELU_SCALE),
  softplus: F.softplus,
  softsign: (x) => F.div(x, F.add(F.abs(x), 1)),
  exponential: F.exp,
};

export function isActivationName(name: string): name is ActivationName {
  return Object.hasOwn(ACTIVATIONS, name);
}

/** The activation `name`; `where` names the layer for the error. */
export function getActivation(name: string, where: string): Activation {
  if (!isActivationName(name)) {
    throw new Error(`${where}: unknown activation '${name}'; known: ${Object.keys(ACTIVATIONS).join(', ')}`);
  }
  return ACTIVATIONS[name];
}
