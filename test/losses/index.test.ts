import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as losses from '../../src/losses/index.js';

describe('getLoss', () => {
  test('resolves Keras names and aliases; unknown names list the known ones', () => {
    assert.equal(losses.getLoss('mse'), losses.meanSquaredError);
    assert.equal(losses.getLoss('binaryCrossentropy'), losses.binaryCrossentropy);
    assert.throws(() => losses.getLoss('hinge' as losses.LossName), /unknown loss 'hinge'; known: binaryCrossentropy/);
  });
});
