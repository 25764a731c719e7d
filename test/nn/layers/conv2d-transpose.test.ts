import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Rng } from '../../../src/core/rng.js';
import { HostTensor, input, layers, model } from '../../../src/index.js';
import { runLayerTest } from '../../helpers/layer-test.js';
import { conv2dTransposeReference } from './conv-reference.js';

const values = (n: number, seed: number): number[] => {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => Math.round((rng.next() * 2 - 1) * 8) / 8);
};

describe('Conv2DTranspose (NCHW)', () => {
  test("passes the layer test; 'same' multiplies the size by the stride", async () => {
    await runLayerTest(() => layers.conv2dTranspose({ filters: 2, kernelSize: 3, strides: 2, padding: 'same' }), [1, 3, 3], { outputShape: [2, 6, 6], params: 2 * 9 + 2 });
  });

  test("'valid' gives size·stride + max(k − stride, 0)", async () => {
    await runLayerTest(() => layers.conv2dTranspose({ filters: 1, kernelSize: 3, strides: 2 }), [2, 3, 3], { outputShape: [1, 7, 7], params: 2 * 9 + 1 });
    await runLayerTest(() => layers.conv2dTranspose({ filters: 1, kernelSize: 2, strides: 3 }), [1, 2, 2], { outputShape: [1, 6, 6], params: 4 + 1 });
  });

  // Keras crops floor((k − s)/2) at the start for 'same'.
  for (const [padding, begin, size] of [['valid', 0, 7], ['same', 0, 6]] as const) {
    test(`matches a direct transposed convolution (${padding})`, async () => {
      const conv = layers.conv2dTranspose({ filters: 2, kernelSize: 3, strides: 2, padding });
      const inp = input({ shape: [2, 3, 3] });
      const m = model({ inputs: inp, outputs: conv.apply(inp) });
      const kernel = values(2 * 2 * 9, 3);
      const bias = [0.25, -0.5];
      conv.setWeights([Float32Array.from(kernel), Float32Array.from(bias)]);
      const x = values(2 * 9, 4);
      const y = await m.predict(new HostTensor(Float32Array.from(x), [1, 2, 3, 3]));
      const expected = conv2dTransposeReference({ data: x, c: 2, h: 3, w: 3 }, kernel, 2, 3, 2, begin, size, bias);
      assert.deepEqual(y.shape, [1, 2, size, size]);
      y.toArray().forEach((v, i) => assert.ok(Math.abs(v - expected.data[i]!) < 1e-5, `[${i}] ${v} vs ${expected.data[i]}`));
    });
  }

  test('outputPadding must be smaller than the stride', () => {
    assert.throws(() => layers.conv2dTranspose({ filters: 1, kernelSize: 3, strides: 2, outputPadding: 2 }), /outputPadding must be smaller than strides \[2, 2\]/);
  });
});
