import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { input, layers, model, sequential } from '../../src/index.js';

describe('summary', () => {
  test('a Keras-style table with output shapes and parameter counts', () => {
    const inp = input({ shape: [784], name: 'digits' });
    const enc = layers.dense({ units: 32, activation: 'relu', name: 'encoder' }).apply(inp);
    const dec = layers.dense({ units: 784, activation: 'sigmoid', name: 'decoder' }).apply(enc);
    const text = model({ inputs: inp, outputs: dec, name: 'autoencoder' }).summary();
    const expected = [
      'Model: "autoencoder"',
      '_____________________________________________',
      ' Layer (type)         Output Shape  Param #',
      '=============================================',
      ' digits (InputLayer)  (None, 784)   0',
      ' encoder (Dense)      (None, 32)    25,120',
      ' decoder (Dense)      (None, 784)   25,872',
      '=============================================',
      'Total params: 50,992',
      'Trainable params: 50,992',
      'Non-trainable params: 0',
      '_____________________________________________',
    ].join('\n');
    assert.equal(text, expected);
  });

  test('counts frozen weights and BatchNorm statistics as non-trainable', () => {
    const frozen = layers.dense({ units: 2, inputShape: [3], name: 'frozen_dense' });
    frozen.trainable = false;
    const m = sequential([frozen, layers.batchNormalization({ name: 'bn_in_summary' })], { name: 'mixed' });
    const text = m.summary();
    assert.match(text, /frozen_dense \(Dense\)\s+\(None, 2\)\s+8\n/);
    assert.match(text, /bn_in_summary \(BatchNormalization\)\s+\(None, 2\)\s+8\n/);
    assert.match(text, /Total params: 16\nTrainable params: 4\nNon-trainable params: 12/);
  });

  test('an unbuilt model shows ? and unbuilt layers', () => {
    const text = sequential([layers.dense({ units: 2, name: 'later' })], { name: 'unbuilt' }).summary();
    assert.match(text, /later \(Dense\)\s+\?\s+0 \(unbuilt\)/);
  });
});
