import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkPositiveInt, checkRate, exampleSize, lastDim, pair, staticDim } from '../../../src/nn/layers/checks.js';

test('checkPositiveInt and checkRate return valid values and name the bad ones Keras-style', () => {
  assert.equal(checkPositiveInt(3, 'units', "Dense 'd'"), 3);
  for (const bad of [0, -1, 1.5, NaN]) assert.throws(() => checkPositiveInt(bad, 'units', "Dense 'd'"), /^Error: Dense 'd': units must be a positive integer\. Received: units=/);
  assert.throws(() => checkPositiveInt(0, 'units', "Dense 'd'"), /Received: units=0$/);
  assert.equal(checkRate(0, 'rate', 'Dropout'), 0);
  assert.equal(checkRate(0.5, 'rate', 'Dropout'), 0.5);
  assert.throws(() => checkRate(1, 'rate', 'Dropout'), /Dropout: rate must be in \[0, 1\)\. Received: rate=1/);
  assert.throws(() => checkRate(NaN, 'rate', 'Dropout'), /Received: rate=null/);
});

test('static dims: lastDim, staticDim with negative axes, exampleSize', () => {
  assert.equal(lastDim(['batch', 4, 8], 'Dense'), 8);
  assert.equal(staticDim(['batch', 4, 8], -2, 'Conv'), 4);
  assert.equal(staticDim(['batch', 4, 8], 1, 'Conv'), 4);
  assert.throws(() => lastDim(['batch', 'features'], "Dense 'd'"), /Dense 'd': axis 1 of the input must be static, received shape \[batch, features\]/);
  assert.equal(exampleSize(['batch', 28, 28, 1], 'Flatten'), 784);
  assert.equal(exampleSize(['batch'], 'Flatten'), 1);
  assert.throws(() => exampleSize(['batch', 't', 3], 'Flatten'), /Flatten: axis 1 of the input must be static/);
});

test('pair expands a number and checks both values', () => {
  assert.deepEqual(pair(3, 'kernelSize', 'Conv2D'), [3, 3]);
  assert.deepEqual(pair([2, 5], 'strides', 'Conv2D'), [2, 5]);
  assert.throws(() => pair([2, 0], 'strides', 'Conv2D'), /Conv2D: strides must be a positive integer\. Received: strides=0/);
});
