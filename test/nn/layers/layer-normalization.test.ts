import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { HostTensor, input, layers, model } from '../../../src/index.js';
import { runLayerTest } from '../../helpers/layer-test.js';

describe('LayerNormalization', () => {
  test('passes the layer test', async () => {
    await runLayerTest(() => layers.layerNormalization(), [4], { outputShape: [4], params: 8 });
  });

  test('normalises every axis from `axis` on', async () => {
    await runLayerTest(() => layers.layerNormalization({ axis: 1 }), [2, 3], { outputShape: [2, 3], params: 12 });
  });

  test('γ(x − mean)/√(var + ε) + β per example', async () => {
    const ln = layers.layerNormalization({ epsilon: 1e-3 });
    const inp = input({ shape: [3] });
    const m = model({ inputs: inp, outputs: ln.apply(inp) });
    ln.setWeights([Float32Array.from([1, 2, 3]), Float32Array.from([0, 0.5, -1])]);
    const x = [1, 2, 6, -1, 0, 1];
    const y = (await m.predict(new HostTensor(Float32Array.from(x), [2, 3]))).toArray();
    for (let r = 0; r < 2; r++) {
      const row = x.slice(3 * r, 3 * r + 3);
      const mean = row.reduce((a, b) => a + b, 0) / 3;
      const variance = row.reduce((a, b) => a + (b - mean) ** 2, 0) / 3;
      row.forEach((v, i) => {
        const expected = [1, 2, 3][i]! * ((v - mean) / Math.sqrt(variance + 1e-3)) + [0, 0.5, -1][i]!;
        assert.ok(Math.abs(y[3 * r + i]! - expected) < 1e-5, `${y[3 * r + i]} vs ${expected}`);
      });
    }
  });
});
