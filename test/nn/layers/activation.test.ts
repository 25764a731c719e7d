import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { HostTensor, input, layers, model, type ActivationName } from '../../../src/index.js';
import { runLayerTest } from '../../helpers/layer-test.js';

const xs = [-2, -0.5, 0, 0.3, 1.5, 4];
const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));
const reference: Partial<Record<ActivationName, (x: number) => number>> = {
  linear: (x) => x,
  relu: (x) => Math.max(x, 0),
  sigmoid,
  tanh: Math.tanh,
  silu: (x) => x * sigmoid(x),
  elu: (x) => (x > 0 ? x : Math.exp(x) - 1),
  softplus: (x) => Math.log1p(Math.exp(x)),
  leakyRelu: (x) => (x > 0 ? x : 0.2 * x),
  relu6: (x) => Math.min(Math.max(x, 0), 6),
};

async function run(name: ActivationName): Promise<number[]> {
  const inp = input({ shape: [xs.length] });
  const m = model({ inputs: inp, outputs: layers.activation({ activation: name }).apply(inp) });
  return (await m.predict(new HostTensor(Float32Array.from(xs), [1, xs.length]))).toArray();
}

describe('Activation', () => {
  test('passes the layer test', async () => {
    await runLayerTest(() => layers.activation({ activation: 'tanh' }), [3], { outputShape: [3], params: 0 });
  });

  for (const [name, f] of Object.entries(reference)) {
    test(`${name} matches its formula`, async () => {
      const got = await run(name as ActivationName);
      got.forEach((v, i) => assert.ok(Math.abs(v - f(xs[i]!)) < 1e-5, `${name}(${xs[i]}) = ${v}, expected ${f(xs[i]!)}`));
    });
  }

  test('softmax normalises the last axis', async () => {
    const got = await run('softmax');
    const exps = xs.map(Math.exp);
    const total = exps.reduce((a, b) => a + b, 0);
    got.forEach((v, i) => assert.ok(Math.abs(v - exps[i]! / total) < 1e-6));
  });

  test('gelu is x·Φ(x)', async () => {
    const got = await run('gelu');
    // Φ(1.5) = 0.9331927987, Φ(−0.5) = 0.3085375387
    assert.ok(Math.abs(got[4]! - 1.5 * 0.9331927987) < 1e-5);
    assert.ok(Math.abs(got[1]! - -0.5 * 0.3085375387) < 1e-5);
  });

  test('an unknown name is an error naming the layer', () => {
    assert.throws(() => layers.activation({ activation: 'swishy' as ActivationName, name: 'act_bad' }), /Activation 'act_bad': unknown activation 'swishy'/);
  });
});
