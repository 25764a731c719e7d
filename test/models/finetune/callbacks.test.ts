import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { atSavePoints, resumableEarlyStopping } from '../../../src/models/finetune/callbacks.js';
import { History } from '../../../src/train/history.js';
import type { Trainer } from '../../../src/train/trainer.js';

/** What these callbacks read of a Trainer: its history and the stop flag. */
function trainerWith(rows: { epoch: number; val_loss?: number; loss: number }[]): Trainer {
  const history = new History();
  history.restore(rows);
  return { history, stopTraining: false } as unknown as Trainer;
}

describe('resumableEarlyStopping', () => {
  test("HF's patience: stop after that many evaluations without an improvement larger than the threshold", async () => {
    const trainer = trainerWith([]);
    const es = resumableEarlyStopping(2, 0.05);
    es.setTrainer!(trainer);
    await es.onTrainBegin!({});
    for (const [epoch, val] of [[0, 3], [1, 2.98], [2, 2.9]] as const) {
      await es.onEpochEnd!(epoch, { val_loss: val });
      assert.equal(trainer.stopTraining, false, `epoch ${epoch}: 2.98 is no improvement of 0.05, 2.9 is`);
    }
    await es.onEpochEnd!(3, { val_loss: 2.89 });
    assert.equal(trainer.stopTraining, false);
    await es.onEpochEnd!(4, { val_loss: 2.88 });
    assert.equal(trainer.stopTraining, true, 'two evaluations without improvement');
  });

  test('on a resume the count is rebuilt from the restored history, so the run stops where an uninterrupted one would', async () => {
    const trainer = trainerWith([{ epoch: 0, loss: 3, val_loss: 3 }, { epoch: 1, loss: 2.9, val_loss: 3.1 }]);
    const es = resumableEarlyStopping(2, 0);
    es.setTrainer!(trainer);
    await es.onTrainBegin!({});
    assert.equal(trainer.stopTraining, false);
    await es.onEpochEnd!(2, { val_loss: 3.05 });
    assert.equal(trainer.stopTraining, true, 'the second evaluation without improvement, one of them before the resume');
  });
});

describe('atSavePoints', () => {
  test('passes onEpochEnd on only when due, and every other hook always', async () => {
    const calls: string[] = [];
    const cb = atSavePoints({ onEpochEnd: (e) => void calls.push(`epoch ${e}`), onTrainEnd: () => void calls.push('end'), onTrainBegin: () => void calls.push('begin') }, (logs) => logs.due === 1);
    await cb.onTrainBegin!({});
    await cb.onEpochEnd!(0, { due: 0 });
    await cb.onEpochEnd!(1, { due: 1 });
    await cb.onTrainEnd!({});
    assert.deepEqual(calls, ['begin', 'epoch 1', 'end']);
  });
});
