import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { csvLogger, historyCsv, jsonLogger, Trainer, type TrainingTask } from '../../src/train/index.js';

describe('metric logs', () => {
  test('historyCsv: epochs from 1, the union of columns, blanks for missing values', () => {
    const csv = historyCsv([{ epoch: 0, loss: 0.5 }, { epoch: 1, loss: 0.25, val_loss: 0.3 }]);
    assert.equal(csv, 'epoch,loss,val_loss\n1,0.5,\n2,0.25,0.3\n');
  });

  test('csvLogger and jsonLogger rewrite their files after every epoch', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'forja-loggers-'));
    let i = 0;
    const task: TrainingTask = {
      epochs: 2,
      stepsInEpoch: () => 1,
      trainStep: async () => ({ logs: { loss: ++i }, weight: 1 }),
      state: () => ({ variables: new Map(), optimizers: {} }),
    };
    await new Trainer(task, { callbacks: [csvLogger(join(dir, 'loss.csv')), jsonLogger(join(dir, 'loss.json'))] }).run();
    assert.equal(await readFile(join(dir, 'loss.csv'), 'utf8'), 'epoch,loss\n1,1\n2,2\n');
    assert.deepEqual(JSON.parse(await readFile(join(dir, 'loss.json'), 'utf8')), [{ epoch: 0, loss: 1 }, { epoch: 1, loss: 2 }]);
  });
});
