import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CallbackList, earlyStopping, lambdaCallback, type Callback } from '../../src/train/callbacks.js';
import type { Position, Trainer } from '../../src/train/trainer.js';

const fakeTrainer = () => ({ stopTraining: false }) as unknown as Trainer;
const at = (step: number) => ({ epoch: 0, step, globalStep: step }) as Position;

test('CallbackList hands each callback the trainer and calls hooks in order, awaiting async ones', async () => {
  const trainer = fakeTrainer();
  const calls: string[] = [];
  const a: Callback = {
    setTrainer: (t) => calls.push(`a.set ${t === trainer}`),
    onTrainBegin: async () => {
      await new Promise((r) => setTimeout(r, 5));
      calls.push('a.trainBegin');
    },
    onEpochEnd: (epoch, logs) => void calls.push(`a.epochEnd ${epoch} ${logs.loss}`),
    onBatchEnd: (batch, logs) => void calls.push(`a.batchEnd ${batch} ${logs.loss}`),
  };
  const b = lambdaCallback({ onTrainBegin: () => void calls.push('b.trainBegin'), onTrainEnd: (logs) => void calls.push(`b.trainEnd ${logs.loss}`) });
  const list = new CallbackList([a, b], trainer);
  await list.trainBegin();
  await list.epochBegin(0);
  await list.batchBegin(at(3));
  await list.batchEnd(at(3), { loss: 2 });
  await list.epochEnd(0, { loss: 1 });
  await list.trainEnd({ loss: 1 });
  assert.deepEqual(calls, ['a.set true', 'a.trainBegin', 'b.trainBegin', 'a.batchEnd 3 2', 'a.epochEnd 0 1', 'b.trainEnd 1']);
});

test('earlyStopping (min) stops after patience epochs without an improvement larger than minDelta', () => {
  const trainer = fakeTrainer();
  const cb = earlyStopping({ monitor: 'val_loss', patience: 1, minDelta: 0.1 });
  cb.setTrainer!(trainer);
  cb.onTrainBegin!({});
  const feed = (v: number) => {
    cb.onEpochEnd!(0, { val_loss: v });
    return trainer.stopTraining;
  };
  assert.equal(feed(1), false); // best 1
  assert.equal(feed(0.95), false); // not better by 0.1: wait 1
  assert.equal(feed(0.8), false); // better: wait 0
  assert.equal(feed(0.75), false); // wait 1
  assert.equal(feed(0.9), true); // wait 2 > patience
});

test("earlyStopping watches accuracies as 'max', restarts on train begin, and names a missing key", () => {
  const trainer = fakeTrainer();
  const cb = earlyStopping({ monitor: 'val_acc' });
  cb.setTrainer!(trainer);
  cb.onTrainBegin!({});
  cb.onEpochEnd!(0, { val_acc: 0.5 });
  cb.onEpochEnd!(1, { val_acc: 0.6 });
  assert.equal(trainer.stopTraining, false);
  cb.onEpochEnd!(2, { val_acc: 0.6 });
  assert.equal(trainer.stopTraining, true);
  // A new run forgets the old best.
  const t2 = fakeTrainer();
  cb.setTrainer!(t2);
  cb.onTrainBegin!({});
  cb.onEpochEnd!(0, { val_acc: 0.1 });
  assert.equal(t2.stopTraining, false);
  assert.throws(() => cb.onEpochEnd!(1, { loss: 1, acc: 0.2 }), /earlyStopping: logs have no 'val_acc'; available: loss, acc/);
});
