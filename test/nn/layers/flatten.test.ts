import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { HostTensor, input, layers, model } from '../../../src/index.js';
import { runLayerTest } from '../../helpers/layer-test.js';

describe('Flatten', () => {
  test('passes the layer test', async () => {
    await runLayerTest(() => layers.flatten(), [2, 3, 4], { outputShape: [24], params: 0 });
  });

  test('keeps row-major order', async () => {
    const inp = input({ shape: [2, 2] });
    const m = model({ inputs: inp, outputs: layers.flatten().apply(inp) });
    const y = await m.predict(new HostTensor(Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8]), [2, 2, 2]));
    assert.deepEqual(y.shape, [2, 4]);
    assert.deepEqual(y.toArray(), [1, 2, 3, 4, 5, 6, 7, 8]);
  });
});
