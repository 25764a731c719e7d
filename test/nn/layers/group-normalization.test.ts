import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { HostTensor, input, layers, model } from '../../../src/index.js';
import { runLayerTest } from '../../helpers/layer-test.js';

describe('GroupNormalization', () => {
  test('passes the layer test', async () => {
    await runLayerTest(() => layers.groupNormalization({ groups: 2 }), [4, 3, 3], { outputShape: [4, 3, 3], params: 8 });
  });

  test('without scale and center it has no weights and still trains what is in front of it', async () => {
    await runLayerTest(() => layers.groupNormalization({ groups: 1, scale: false, center: false }), [2, 2, 3], { outputShape: [2, 2, 3], params: 0 });
  });

  test('γ(x − mean)/√(var + ε) + β over each group of channels and pixels', async () => {
    const gn = layers.groupNormalization({ groups: 2, epsilon: 1e-3 });
    const inp = input({ shape: [4, 1, 2] });
    const m = model({ inputs: inp, outputs: gn.apply(inp) });
    const gamma = [1, 2, 3, -1];
    const beta = [0, 0.5, -1, 2];
    gn.setWeights([Float32Array.from(gamma), Float32Array.from(beta)]);
    const x = [1, 2, 6, -1, 0, 1, 3, 3];
    const y = (await m.predict(new HostTensor(Float32Array.from(x), [1, 4, 1, 2]))).toArray();
    for (let g = 0; g < 2; g++) {
      const group = x.slice(4 * g, 4 * g + 4);
      const mean = group.reduce((a, b) => a + b, 0) / 4;
      const variance = group.reduce((a, b) => a + (b - mean) ** 2, 0) / 4;
      group.forEach((v, i) => {
        const channel = 2 * g + Math.floor(i / 2);
        const expected = gamma[channel]! * ((v - mean) / Math.sqrt(variance + 1e-3)) + beta[channel]!;
        assert.ok(Math.abs(y[4 * g + i]! - expected) < 1e-5, `${y[4 * g + i]} vs ${expected}`);
      });
    }
  });

  test('groups that do not divide the channels are refused, naming both', () => {
    const inp = input({ shape: [6, 2, 2] });
    assert.throws(() => layers.groupNormalization({ groups: 4, name: 'gn_bad' }).apply(inp), /GroupNormalization 'gn_bad': groups must divide the 6 input channels. Received: groups=4/);
    assert.throws(() => layers.groupNormalization({ groups: 0 }), /groups must be a positive integer. Received: groups=0/);
  });
});
