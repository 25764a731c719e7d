import { test } from 'node:test';
import assert from 'node:assert/strict';
import { History } from '../../src/train/history.js';

test('record keeps each key aligned with its epoch, even when keys come and go', () => {
  const h = new History();
  h.record(0, { loss: 1 });
  h.record(1, { loss: 0.5, val_loss: 0.7 });
  h.record(2, { loss: 0.25 });
  assert.deepEqual(h.epoch, [0, 1, 2]);
  assert.deepEqual(h.history.loss, [1, 0.5, 0.25]);
  // val_loss belongs to epoch 1, not epoch 0.
  assert.equal(h.history.val_loss![0], undefined);
  assert.equal(h.history.val_loss![1], 0.7);
  assert.deepEqual(h.rows(), [
    { epoch: 0, loss: 1 },
    { epoch: 1, loss: 0.5, val_loss: 0.7 },
    { epoch: 2, loss: 0.25 },
  ]);
});

test('restore replaces everything with the saved rows, and recording continues after them', () => {
  const h = new History();
  h.record(0, { loss: 9, acc: 0.1 });
  h.restore([
    { epoch: 0, loss: 2 },
    { epoch: 1, loss: 1, val_loss: 3 },
  ]);
  assert.equal(h.history.acc, undefined);
  h.record(2, { loss: 0.5 });
  assert.deepEqual(h.rows(), [
    { epoch: 0, loss: 2 },
    { epoch: 1, loss: 1, val_loss: 3 },
    { epoch: 2, loss: 0.5 },
  ]);
});
