import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { HostTensor, input, layers, model } from '../../../src/index.js';
import { runLayerTest } from '../../helpers/layer-test.js';

describe('Dense', () => {
  test('passes the layer test', async () => {
    await runLayerTest(() => layers.dense({ units: 3, activation: 'tanh' }), [5], { outputShape: [3], params: 5 * 3 + 3 });
  });

  test('applies to the last axis of rank-3 inputs', async () => {
    await runLayerTest(() => layers.dense({ units: 2, useBias: false }), [4, 3], { outputShape: [4, 2], params: 6 });
  });

  test('computes activation(x · kernel + bias)', async () => {
    const dense = layers.dense({ units: 2, activation: 'relu' });
    const inp = input({ shape: [3] });
    const m = model({ inputs: inp, outputs: dense.apply(inp) });
    dense.setWeights([Float32Array.from([1, -1, 2, 0.5, -3, 1]), Float32Array.from([0.5, -4])]);
    const y = await m.predict(new HostTensor(Float32Array.from([1, 2, 3, 0, 1, 0]), [2, 3]));
    // Row 0: [1·1 + 2·2 + 3·(−3) + 0.5, 1·(−1) + 2·0.5 + 3·1 − 4] = [−3.5, −1] → relu → [0, 0]
    // Row 1: [2 + 0.5, 0.5 − 4] = [2.5, −3.5] → [2.5, 0]
    assert.deepEqual(y.toArray(), [0, 0, 2.5, 0]);
  });

  test('names the layer and both shapes when the input width is wrong', () => {
    const dense = layers.dense({ units: 4, name: 'dense_width_check' });
    dense.apply(input({ shape: [784] }));
    assert.throws(() => dense.apply(input({ shape: [100] })), /Dense 'dense_width_check': expected input last dimension 784, received shape \[batch, 100\]/);
  });

  test('rejects a bad units argument Keras-style', () => {
    assert.throws(() => layers.dense({ units: 0 }), /units must be a positive integer\. Received: units=0/);
  });

  test('default names count up: dense, dense_1, ...', () => {
    const a = layers.dense({ units: 1 });
    const b = layers.dense({ units: 1 });
    const n = (name: string): number => (name === 'dense' ? 0 : Number(name.split('_')[1]));
    assert.match(a.name, /^dense(_\d+)?$/);
    assert.equal(n(b.name), n(a.name) + 1);
  });
});
