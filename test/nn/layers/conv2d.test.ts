import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Rng } from '../../../src/core/rng.js';
import { HostTensor, input, layers, model } from '../../../src/index.js';
import { runLayerTest } from '../../helpers/layer-test.js';
import { conv2dReference } from './conv-reference.js';

const values = (n: number, seed: number): number[] => {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => Math.round((rng.next() * 2 - 1) * 8) / 8);
};

describe('Conv2D (NCHW)', () => {
  test('passes the layer test', async () => {
    await runLayerTest(() => layers.conv2d({ filters: 2, kernelSize: 3, activation: 'relu' }), [1, 5, 5], { outputShape: [2, 3, 3], params: 2 * 9 + 2 });
  });

  test("'same' padding with stride 2 gives ceil(size / 2)", async () => {
    await runLayerTest(() => layers.conv2d({ filters: 3, kernelSize: 3, strides: 2, padding: 'same' }), [2, 5, 6], { outputShape: [3, 3, 3], params: 3 * 2 * 9 + 3 });
  });

  for (const [padding, stride, pads] of [['valid', 1, [0, 0, 0, 0]], ['same', 1, [1, 1, 1, 1]], ['same', 2, [1, 1, 1, 1]]] as const) {
    test(`matches a direct convolution (${padding}, stride ${stride})`, async () => {
      const conv = layers.conv2d({ filters: 2, kernelSize: 3, strides: stride, padding });
      const inp = input({ shape: [2, 5, 5] });
      const m = model({ inputs: inp, outputs: conv.apply(inp) });
      const kernel = values(2 * 2 * 9, 1);
      const bias = [0.5, -0.25];
      conv.setWeights([Float32Array.from(kernel), Float32Array.from(bias)]);
      const x = values(2 * 25, 2);
      const y = await m.predict(new HostTensor(Float32Array.from(x), [1, 2, 5, 5]));
      const expected = conv2dReference({ data: x, c: 2, h: 5, w: 5 }, kernel, 2, 3, 3, stride, [...pads], bias);
      assert.deepEqual(y.shape, [1, 2, expected.h, expected.w]);
      y.toArray().forEach((v, i) => assert.ok(Math.abs(v - expected.data[i]!) < 1e-5, `[${i}] ${v} vs ${expected.data[i]}`));
    });
  }

  test('asks for NCHW input', () => {
    assert.throws(() => layers.conv2d({ filters: 1, kernelSize: 2, name: 'conv_rank' }).apply(input({ shape: [5, 5] })), /Conv2D 'conv_rank': expected input \[batch, channels, height, width\] \(NCHW\)/);
  });
});
