import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { HostTensor, input, layers, model } from '../../../src/index.js';
import { runLayerTest } from '../../helpers/layer-test.js';

describe('LeakyReLU', () => {
  test('passes the layer test', async () => {
    await runLayerTest(() => layers.leakyReLU({ alpha: 0.1 }), [2, 3], { outputShape: [2, 3], params: 0 });
  });

  test('x for x ≥ 0, alpha·x below; Keras default alpha 0.3', async () => {
    const inp = input({ shape: [4] });
    const m = model({ inputs: inp, outputs: layers.leakyReLU().apply(inp) });
    const y = await m.predict(new HostTensor(Float32Array.from([-2, -0.5, 0, 3]), [1, 4]));
    y.toArray().forEach((v, i) => assert.ok(Math.abs(v - [-0.6, -0.15, 0, 3][i]!) < 1e-6));
  });
});
