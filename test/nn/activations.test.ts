import { test } from 'node:test';
import assert from 'node:assert/strict';
import { trace } from '../../src/core/graph.js';
import { getActivation, isActivationName, type ActivationName } from '../../src/nn/activations.js';
import { checkOp } from '../helpers/gradcheck.js';

const XS = [-3, -0.5, 0, 0.7, 2, 8];

// Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7): enough for float32 GELU.
function erf(x: number): number {
  const s = Math.sign(x);
  const a = Math.abs(x);
  const t = 1 / (1 + 0.3275911 * a);
  const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-a * a);
  return s * y;
}
const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
const elu = (x: number, a = 1) => (x > 0 ? x : a * (Math.exp(x) - 1));

const ELEMENTWISE: Record<Exclude<ActivationName, 'softmax' | 'logSoftmax'>, (x: number) => number> = {
  linear: (x) => x,
  relu: (x) => Math.max(x, 0),
  relu6: (x) => Math.min(Math.max(x, 0), 6),
  sigmoid,
  hardSigmoid: (x) => Math.min(Math.max(x + 3, 0), 6) / 6,
  tanh: Math.tanh,
  gelu: (x) => 0.5 * x * (1 + erf(x / Math.SQRT2)),
  silu: (x) => x * sigmoid(x),
  swish: (x) => x * sigmoid(x),
  leakyRelu: (x) => (x > 0 ? x : 0.2 * x),
  elu: (x) => elu(x),
  selu: (x) => 1.0507009873554805 * elu(x, 1.6732632423543772),
  softplus: (x) => Math.log1p(Math.exp(x)),
  softsign: (x) => x / (1 + Math.abs(x)),
  exponential: Math.exp,
};

test('each elementwise activation matches its formula', async () => {
  for (const [name, ref] of Object.entries(ELEMENTWISE)) {
    await checkOp(({ x }) => getActivation(name, 'test')(x!), { x: { shape: [6], values: XS } }, () => XS.map(ref), { atol: 1e-5, rtol: 1e-5 });
  }
});

test('softmax and logSoftmax normalise over the last axis', async () => {
  const rows = [XS.slice(0, 3), XS.slice(3)];
  const softmax = rows.flatMap((r) => {
    const m = Math.max(...r);
    const e = r.map((v) => Math.exp(v - m));
    const s = e.reduce((a, b) => a + b, 0);
    return e.map((v) => v / s);
  });
  await checkOp(({ x }) => getActivation('softmax', 'test')(x!), { x: { shape: [2, 3], values: XS } }, () => softmax);
  await checkOp(({ x }) => getActivation('logSoftmax', 'test')(x!), { x: { shape: [2, 3], values: XS } }, () => softmax.map(Math.log));
});

test('unknown names are refused naming the layer; isActivationName ignores prototype keys', () => {
  assert.equal(isActivationName('relu'), true);
  assert.equal(isActivationName('constructor'), false);
  assert.equal(isActivationName('ReLU'), false);
  trace(() => {
    assert.throws(() => getActivation('mish', "Dense 'dense_1'"), /Dense 'dense_1': unknown activation 'mish'; known: linear, relu, relu6/);
  });
});
