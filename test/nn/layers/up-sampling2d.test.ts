import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { HostTensor, input, layers, model } from '../../../src/index.js';
import { runLayerTest } from '../../helpers/layer-test.js';

describe('UpSampling2D', () => {
  test('passes the layer test', async () => {
    await runLayerTest(() => layers.upSampling2d(), [2, 3, 4], { outputShape: [2, 6, 8], params: 0 });
  });

  test('size 3 repeats each pixel into a 3 × 3 block', async () => {
    const inp = input({ shape: [1, 1, 2] });
    const m = model({ inputs: inp, outputs: layers.upSampling2d({ size: 3 }).apply(inp) });
    const y = await m.predict(new HostTensor(Float32Array.of(5, 7), [1, 1, 1, 2]));
    assert.deepEqual(y.shape, [1, 1, 3, 6]);
    assert.deepEqual(y.toArray(), [5, 5, 5, 7, 7, 7, 5, 5, 5, 7, 7, 7, 5, 5, 5, 7, 7, 7]);
  });

  test('bad arguments are named', () => {
    assert.throws(() => layers.upSampling2d({ size: 0 }), /size must be a positive integer. Received: size=0/);
    assert.throws(() => layers.upSampling2d({ interpolation: 'bilinear' as 'nearest' }), /only interpolation 'nearest' is supported. Received: interpolation="bilinear"/);
    assert.throws(() => layers.upSampling2d({ name: 'up_flat' }).apply(input({ shape: [4] })), /UpSampling2D 'up_flat': expected NCHW input/);
  });
});
