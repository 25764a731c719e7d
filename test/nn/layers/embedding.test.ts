import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { HostTensor, input, layers, model } from '../../../src/index.js';
import { runLayerTest } from '../../helpers/layer-test.js';

describe('Embedding', () => {
  test('passes the layer test', async () => {
    await runLayerTest(() => layers.embedding({ inputDim: 10, outputDim: 4 }), [5], {
      outputShape: [5, 4],
      params: 40,
      inputDtype: 'int64',
      inputMax: 10,
    });
  });

  test('looks up rows of the table', async () => {
    const emb = layers.embedding({ inputDim: 3, outputDim: 2 });
    const inp = input({ shape: [2], dtype: 'int64' });
    const m = model({ inputs: inp, outputs: emb.apply(inp) });
    emb.setWeights([Float32Array.from([0, 1, 10, 11, 20, 21])]);
    const y = await m.predict(new HostTensor(BigInt64Array.from([2n, 0n, 1n, 1n]), [2, 2]));
    assert.deepEqual(y.toArray(), [20, 21, 0, 1, 10, 11, 10, 11]);
  });

  test('accepts float indices, truncated as Keras casts them', async () => {
    const emb = layers.embedding({ inputDim: 3, outputDim: 1 });
    const inp = input({ shape: [2] });
    const m = model({ inputs: inp, outputs: emb.apply(inp) });
    emb.setWeights([Float32Array.from([5, 6, 7])]);
    assert.deepEqual((await m.predict(Float32Array.from([2, 1]))).toArray(), [7, 6]);
  });
});
