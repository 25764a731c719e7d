/** The one loop, on a task small enough to follow by hand: no graphs, a variable that counts what it has seen. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '../../src/core/rng.js';
import { Variable } from '../../src/core/variable.js';
import { Adam } from '../../src/optim/index.js';
import { earlyStopping, Trainer, TrainingDivergedError, type Callback, type Position, type TrainingTask } from '../../src/train/index.js';

/**
 * Each step adds a random draw to `w` and reports loss = the draw, so the
 * final `w` depends on every step having run exactly once, in order, with the
 * random stream continuing across a resume.
 */
function countingTask(epochs: number, steps: number, opts: { nanAt?: number } = {}): TrainingTask & { w: Variable; rng: Rng; optimizer: Adam; seen: string[] } {
  const w = new Variable('w', [2], Float32Array.of(0, 0));
  const rng = new Rng(7);
  const optimizer = new Adam();
  const seen: string[] = [];
  return {
    w,
    rng,
    optimizer,
    seen,
    epochs,
    stepsInEpoch: (epoch) => (epoch === epochs - 1 ? steps - 1 : steps),
    async trainStep({ epoch, step, globalStep }: Position) {
      seen.push(`${epoch}:${step}`);
      const draw = rng.next();
      w.assign(Float32Array.of(w.value[0]! + draw, w.value[1]! + 1), 'test');
      optimizer.iterations++;
      return { logs: { loss: globalStep + 1 === opts.nanAt ? Number.NaN : draw }, weight: step + 1 };
    },
    validate: async () => ({ val_loss: w.value[0]! }),
    state: () => ({ variables: new Map([['w', w]]), optimizers: { adam: optimizer }, rngs: { data: rng } }),
    meta: () => ({ kind: 'counting' }),
  };
}

describe('Trainer', () => {
  test('runs every step once in order, with row-weighted epoch means, validation and history', async () => {
    const task = countingTask(2, 3);
    const draws = new Rng(7);
    const expected = [draws.next(), draws.next(), draws.next(), draws.next(), draws.next()];
    const outcome = await new Trainer(task).run();
    assert.deepEqual(task.seen, ['0:0', '0:1', '0:2', '1:0', '1:1']);
    assert.deepEqual(outcome.position, { epoch: 2, step: 0, globalStep: 5 });
    const mean0 = (expected[0]! * 1 + expected[1]! * 2 + expected[2]! * 3) / 6;
    assert.ok(Math.abs(outcome.history.history.loss![0]! - mean0) < 1e-12);
    assert.equal(outcome.history.history.val_loss!.length, 2);
    assert.equal(outcome.stepsHere, 5);
    assert.equal(outcome.weightHere, 1 + 2 + 3 + 1 + 2);
  });

  test('calls the hooks in Keras order', async () => {
    const calls: string[] = [];
    const spy: Callback = {
      onTrainBegin: () => void calls.push('train'),
      onEpochBegin: (e) => void calls.push(`epoch${e}`),
      onBatchEnd: (b) => void calls.push(`batch${b}`),
      onEpochEnd: (e, logs) => void calls.push(`end${e}:${'val_loss' in logs}`),
      onTrainEnd: () => void calls.push('done'),
    };
    await new Trainer(countingTask(2, 2), { callbacks: [spy] }).run();
    assert.deepEqual(calls, ['train', 'epoch0', 'batch0', 'batch1', 'end0:true', 'epoch1', 'batch0', 'end1:true', 'done']);
  });

  test('a non-finite log is refused naming the position; nothing after it runs', async () => {
    const task = countingTask(3, 3, { nanAt: 4 });
    await assert.rejects(new Trainer(task).run(), (err: unknown) => {
      assert.ok(err instanceof TrainingDivergedError);
      assert.deepEqual(err.position, { epoch: 1, step: 0, globalStep: 3 });
      assert.match(err.message, /epoch 2, step 1 \(step 4 of the run\): loss is NaN/);
      return true;
    });
    assert.equal(task.seen.length, 4);
  });

  test('trainSteps: runs of several steps, each step counted and checked, callbacks once per run', async () => {
    /** Runs of up to 2 steps, each the plain task's step in turn. */
    const inRuns = (task: ReturnType<typeof countingTask>) =>
      Object.assign(task, {
        trainSteps: async (at: Position, limit: number) => {
          const results = [];
          for (let i = 0; i < Math.min(2, limit); i++) results.push(await task.trainStep({ ...at, step: at.step + i, globalStep: at.globalStep + i }));
          return results;
        },
      });
    const plain = await new Trainer(countingTask(2, 3)).run();
    const ends: number[] = [];
    const task = inRuns(countingTask(2, 3));
    const outcome = await new Trainer(task, { callbacks: [{ onBatchEnd: (b) => void ends.push(b) }] }).run();
    assert.deepEqual(task.seen, ['0:0', '0:1', '0:2', '1:0', '1:1']);
    assert.deepEqual(ends, [1, 2, 1]);
    assert.deepEqual(outcome.history.rows(), plain.history.rows());
    assert.equal(outcome.stepsHere, 5);
    await assert.rejects(new Trainer(inRuns(countingTask(3, 3, { nanAt: 5 }))).run(), (err: unknown) => {
      assert.ok(err instanceof TrainingDivergedError);
      assert.deepEqual(err.position, { epoch: 1, step: 1, globalStep: 4 });
      return true;
    });
    const greedy = Object.assign(countingTask(1, 2), { trainSteps: async () => [{ logs: { loss: 0 }, weight: 1 }, { logs: { loss: 0 }, weight: 1 }, { logs: { loss: 0 }, weight: 1 }] });
    await assert.rejects(new Trainer(greedy).run(), /trainSteps at step 0 of 1 returned 3 steps/);
  });

  test('stopTraining from a callback ends the run at the end of the epoch', async () => {
    const task = countingTask(10, 2);
    const outcome = await new Trainer(task, { callbacks: [earlyStopping({ monitor: 'loss', patience: 0, mode: 'max' })] }).run();
    assert.ok(outcome.history.epoch.length < 10);
    assert.equal(outcome.interrupted, false);
  });

  test('a signal stops after the current step; save, restore into a fresh run, and it ends exactly as an uninterrupted one', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'forja-trainer-'));
    const straight = countingTask(3, 4);
    const straightOutcome = await new Trainer(straight).run();

    const stop = new AbortController();
    const first = countingTask(3, 4);
    const stopAt: Callback = { onBatchEnd: (batch) => void (batch === 1 && first.seen.length === 6 && stop.abort()) };
    const cut = new Trainer(first, { callbacks: [stopAt], signal: stop.signal });
    const partial = await cut.run();
    assert.equal(partial.interrupted, true);
    assert.deepEqual(partial.position, { epoch: 1, step: 2, globalStep: 6 });
    await cut.save(join(dir, 'checkpoint.safetensors'));

    const second = countingTask(3, 4);
    const resumed = new Trainer(second);
    assert.deepEqual(await resumed.restore(join(dir, 'checkpoint.safetensors')), { kind: 'counting' });
    assert.equal(second.optimizer.iterations, 6);
    const rest = await resumed.run();
    assert.deepEqual(second.seen, ['1:2', '1:3', '2:0', '2:1', '2:2']);
    assert.deepEqual(Array.from(second.w.value), Array.from(straight.w.value));
    assert.deepEqual(rest.history.history, straightOutcome.history.history);
  });
});
