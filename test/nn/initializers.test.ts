import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { computeFans, initializer } from '../../src/nn/initializers.js';
import { layers, setRandomSeed } from '../../src/index.js';

const stats = (v: Float32Array): { mean: number; variance: number; max: number } => {
  const mean = v.reduce((a, b) => a + b, 0) / v.length;
  return { mean, variance: v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length, max: Math.max(...v.map(Math.abs)) };
};

describe('initializers', () => {
  test('glorotUniform: U(±√(6/(fanIn + fanOut)))', () => {
    const v = initializer('glorotUniform', { seed: 1 }).init([200, 100]);
    const limit = Math.sqrt(6 / 300);
    const s = stats(v);
    assert.ok(s.max <= limit);
    assert.ok(Math.abs(s.variance - limit ** 2 / 3) < 0.02 * limit ** 2);
    assert.ok(Math.abs(s.mean) < 0.01 * limit);
  });

  test('heNormal: truncated normal with variance 2/fanIn, within 2 standard deviations', () => {
    const v = initializer('heNormal', { seed: 2 }).init([400, 50]);
    const s = stats(v);
    assert.ok(Math.abs(s.variance - 2 / 400) < 0.05 * (2 / 400), `variance ${s.variance}`);
    assert.ok(s.max <= 2 * Math.sqrt(2 / 400) / 0.8796256610342398 + 1e-7);
  });

  test('constant, zeros, ones', () => {
    assert.deepEqual(Array.from(initializer('constant', { value: 3 }).init([2])), [3, 3]);
    assert.deepEqual(Array.from(initializer('ones').init([2])), [1, 1]);
    assert.deepEqual(Array.from(initializer('zeros').init([2])), [0, 0]);
  });

  test('fans of a dense kernel and an ONNX conv kernel [out, in, kh, kw]', () => {
    assert.deepEqual(computeFans([784, 32]), { fanIn: 784, fanOut: 32 });
    assert.deepEqual(computeFans([16, 3, 5, 5]), { fanIn: 75, fanOut: 400 });
  });

  test('a seeded initializer repeats; setRandomSeed makes unseeded layers reproducible', () => {
    assert.deepEqual(initializer('randomNormal', { seed: 4 }).init([5]), initializer('randomNormal', { seed: 4 }).init([5]));
    const build = (): number[] => {
      setRandomSeed(42);
      const d = layers.dense({ units: 3 });
      d.build(['batch', 4]);
      return d.getWeights()[0]!.toArray();
    };
    assert.deepEqual(build(), build());
  });
});
