import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InputLayer } from '../../src/nn/layers/input-layer.js';
import { LayerCall, SymbolicTensor } from '../../src/nn/symbolic-tensor.js';

test('a symbolic tensor knows its producing call, rank, example shape and prints them', () => {
  const layer = new InputLayer({ shape: [2], name: 'st_in' });
  const call = new LayerCall(layer, [layer.output]);
  const a = new SymbolicTensor(['batch', 3, 'seq'], 'float32', call, 1);
  call.outputs.push(a);
  assert.equal(a.producer, call);
  assert.deepEqual(call.inputs, [layer.output]);
  assert.equal(a.rank, 3);
  assert.deepEqual(a.exampleShape, [3, 'seq']);
  // exampleShape is a fresh array: changing it leaves the tensor alone.
  a.exampleShape.push(9);
  assert.deepEqual(a.shape, ['batch', 3, 'seq']);
  assert.equal(a.toString(), 'SymbolicTensor(st_in:1, float32[batch, 3, seq])');
});
