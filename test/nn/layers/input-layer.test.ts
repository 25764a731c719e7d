import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InputLayer, input } from '../../../src/nn/layers/input-layer.js';
import { deserializeLayer, serializeLayer } from '../../../src/nn/registry.js';

test('input() is a symbolic [batch, ...shape] tensor produced by its InputLayer', () => {
  const x = input({ shape: [28, 'seq'], dtype: 'int64', name: 'tokens' });
  assert.deepEqual(x.shape, ['batch', 28, 'seq']);
  assert.deepEqual(x.exampleShape, [28, 'seq']);
  assert.equal(x.rank, 3);
  assert.equal(x.dtype, 'int64');
  assert.equal(x.index, 0);
  const layer = x.producer.layer;
  assert.ok(layer instanceof InputLayer);
  assert.equal(layer.name, 'tokens');
  assert.deepEqual(x.producer.inputs, []);
  assert.deepEqual(x.producer.outputs, [x]);
  assert.equal(String(x), 'SymbolicTensor(tokens:0, int64[batch, 28, seq])');
  assert.equal(input({ shape: [3] }).dtype, 'float32');
});

test('the config round-trips through the registry', () => {
  const layer = new InputLayer({ shape: [4, 4], name: 'img' });
  const back = deserializeLayer(serializeLayer(layer), 'model.json') as InputLayer;
  assert.ok(back instanceof InputLayer);
  assert.deepEqual(back.exampleShape, [4, 4]);
  assert.equal(back.dtype, 'float32');
});

test('dimensions that are not positive integers or names are refused', () => {
  for (const shape of [[0], [2, -1], [1.5], ['']]) {
    assert.throws(() => input({ shape, name: 'bad_in' }), /bad_in.*: shape must hold positive integers or dimension names\. Received: shape=/);
  }
});
