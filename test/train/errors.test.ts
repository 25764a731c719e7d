import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CheckpointError, describeLogs, ResumeMismatchError, TrainingDivergedError } from '../../src/train/errors.js';

test('TrainingDivergedError names the 1-based position and what was not finite', () => {
  const at = { epoch: 1, step: 4, globalStep: 14 };
  const step = new TrainingDivergedError(at, 'loss is NaN', 'step');
  assert.equal(step.name, 'TrainingDivergedError');
  assert.equal(step.message, 'training diverged at epoch 2, step 5 (step 15 of the run): loss is NaN; the weights were not updated by that step');
  assert.deepEqual(step.position, at);
  const val = new TrainingDivergedError(at, 'val_loss is Infinity', 'validation');
  assert.equal(val.message, 'training diverged in the validation after epoch 2: val_loss is Infinity; the weights were not updated by that step');
  assert.equal(val.during, 'validation');
});

test('CheckpointError and ResumeMismatchError carry their facts and name the path', () => {
  const c = new CheckpointError('/tmp/run/ckpt.json', 'not JSON');
  assert.equal(c.message, '/tmp/run/ckpt.json: not JSON');
  assert.equal(c.path, '/tmp/run/ckpt.json');
  assert.ok(c instanceof Error && c.name === 'CheckpointError');
  const r = new ResumeMismatchError('batchSize', 32, 64, '/tmp/run');
  assert.equal(r.message, 'batchSize 32 differs from the run being resumed (64, in /tmp/run); resume with the same settings');
  assert.deepEqual([r.setting, r.given, r.saved, r.path, r.name], ['batchSize', 32, 64, '/tmp/run', 'ResumeMismatchError']);
});

test('describeLogs lists key/value pairs in order', () => {
  assert.equal(describeLogs({ loss: 0.5, acc: 1 }), 'loss 0.5, acc 1');
  assert.equal(describeLogs({}), '');
});
