import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { input, layers } from '../../../src/index.js';
import { runLayerTest } from '../../helpers/layer-test.js';

describe('Reshape', () => {
  test('passes the layer test', async () => {
    await runLayerTest(() => layers.reshape({ targetShape: [3, 4] }), [12], { outputShape: [3, 4], params: 0 });
  });

  test('resolves -1 from the example size', () => {
    assert.deepEqual(layers.reshape({ targetShape: [-1, 2] }).apply(input({ shape: [3, 4] })).shape, ['batch', 6, 2]);
  });

  test('sizes that do not divide are an error naming both shapes', () => {
    const r = layers.reshape({ targetShape: [5], name: 'reshape_bad' });
    assert.throws(() => r.apply(input({ shape: [3, 4] })), /Reshape 'reshape_bad': cannot reshape examples of shape \[3, 4\] \(12 values\) to \[5\]/);
  });

  test('rejects two -1 entries', () => {
    assert.throws(() => layers.reshape({ targetShape: [-1, -1] }), /at most one -1/);
  });
});
