import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { hostTensor, layers, sequential } from '../../src/index.js';

describe('Sequential', () => {
  test('builds at construction when the first layer has an inputShape', () => {
    const m = sequential([layers.dense({ units: 4, inputShape: [3] }), layers.dense({ units: 2 })]);
    assert.ok(m.built);
    assert.deepEqual(m.outputs[0]!.shape, ['batch', 2]);
    assert.equal(m.countParams(), 3 * 4 + 4 + 4 * 2 + 2);
  });

  test('without an input shape, builds from the first data', async () => {
    const m = sequential([layers.dense({ units: 2 })]);
    assert.equal(m.built, false);
    const y = await m.predict(hostTensor(new Float32Array(15), [5, 3]));
    assert.ok(m.built);
    assert.deepEqual(y.shape, [5, 2]);
    assert.equal(m.countParams(), 8);
  });

  test('add() appends and rewires', () => {
    const m = sequential([layers.dense({ units: 4, inputShape: [3] })]);
    m.add(layers.dense({ units: 1 }));
    assert.deepEqual(m.outputs[0]!.shape, ['batch', 1]);
    assert.equal(m.layers.length, 2);
  });

  test('a model as the first layer gives the input shape (the GAN pattern)', () => {
    const g = sequential([layers.dense({ units: 5, inputShape: [2] })]);
    const d = sequential([layers.dense({ units: 1, inputShape: [5] })]);
    const gan = sequential([g, d]);
    assert.deepEqual(gan.inputs[0]!.shape, ['batch', 2]);
    assert.deepEqual(gan.outputs[0]!.shape, ['batch', 1]);
    assert.equal(gan.countParams(), g.countParams() + d.countParams());
  });

  test('shape errors name the layer', () => {
    assert.throws(
      () => sequential([layers.dense({ units: 4, inputShape: [3] }), layers.reshape({ targetShape: [3], name: 'reshape_in_seq' })]),
      /Reshape 'reshape_in_seq': cannot reshape examples of shape \[4\]/,
    );
  });
});
