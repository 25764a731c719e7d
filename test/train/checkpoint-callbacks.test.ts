/** backupAndRestore and modelCheckpoint on a fit, as a user would write them. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { backupAndRestore, HostTensor, layers, modelCheckpoint, optimizers, saveModel, sequential, setRandomSeed } from '../../src/index.js';
import { REPO_ROOT } from '../helpers/fixtures.js';

const root = await mkdtemp(join(tmpdir(), 'forja-backup-'));

function data(): { x: HostTensor; y: Float32Array } {
  const x = new Float32Array(40 * 3);
  for (let i = 0; i < x.length; i++) x[i] = Math.sin(i * 0.7);
  const y = new Float32Array(40).map((_, i) => x[i * 3]! - 2 * x[i * 3 + 2]!);
  return { x: new HostTensor(x, [40, 3]), y };
}

function net(stepsPerExecution = 1) {
  setRandomSeed(11);
  const m = sequential([layers.dense({ units: 4, activation: 'tanh', inputShape: [3] }), layers.dense({ units: 1 })]);
  m.compile({ optimizer: optimizers.adam({ learningRate: 0.05 }), loss: 'mse', stepsPerExecution });
  return m;
}

const weightsOf = (m: ReturnType<typeof net>) => m.weights.map((w) => Array.from(w.value));

describe('backupAndRestore with fit', () => {
  test('with stepsPerExecution, a fit stopped between runs resumes and ends bit for bit as one step at a time would', async () => {
    const { x, y } = data();
    const straight = net();
    const straightHistory = await straight.fit(x, y, { epochs: 3, batchSize: 8 });

    const path = join(root, 'fit-runs.safetensors');
    const stop = new AbortController();
    const first = net(3);
    const ends: number[] = [];
    // 5 steps an epoch run as 3 + 2: the third run is epoch 1's steps 0-2, and the stop lands at its end.
    const counter = { onBatchEnd: (batch: number) => void (ends.push(batch) === 3 && stop.abort()) };
    await first.fit(x, y, { epochs: 3, batchSize: 8, signal: stop.signal, callbacks: [backupAndRestore({ path }), counter] });
    assert.deepEqual(ends, [2, 4, 2]);

    const second = net(3);
    setRandomSeed(99);
    const history = await second.fit(x, y, { epochs: 3, batchSize: 8, callbacks: [backupAndRestore({ path })] });
    assert.deepEqual(weightsOf(second), weightsOf(straight));
    assert.deepEqual(history.history.loss, straightHistory.history.loss);
  });

  test('a fit stopped mid-epoch resumes from its backup and ends with the same weights as one uninterrupted fit', async () => {
    const { x, y } = data();
    const straight = net();
    const straightHistory = await straight.fit(x, y, { epochs: 3, batchSize: 8 }); // the shuffle seed is drawn from the global generator

    const path = join(root, 'fit.safetensors');
    const stop = new AbortController();
    const first = net();
    let steps = 0;
    const counter = { onBatchEnd: () => void (++steps === 7 && stop.abort()) };
    await first.fit(x, y, { epochs: 3, batchSize: 8, signal: stop.signal, callbacks: [backupAndRestore({ path }), counter] });
    assert.ok(existsSync(path), 'an interrupted fit keeps its backup');

    const second = net(); // a new process: fresh weights, restored from the backup
    setRandomSeed(99); // and a different draw of the shuffle seed, which the backup must override
    const history = await second.fit(x, y, { epochs: 3, batchSize: 8, callbacks: [backupAndRestore({ path })] });
    assert.deepEqual(weightsOf(second), weightsOf(straight));
    assert.deepEqual(history.history.loss, straightHistory.history.loss);
    assert.equal(existsSync(path), false, 'a finished fit deletes its backup (Keras default)');
  });

  test('modelCheckpoint with saveBestOnly saves only on improvement', async () => {
    const { x, y } = data();
    const m = net();
    const saved: number[] = [];
    await m.fit(x, y, {
      epochs: 4,
      batchSize: 8,
      seed: 2,
      validationSplit: 0.25,
      callbacks: [modelCheckpoint({ saveBestOnly: true, save: async (epoch) => void saved.push(epoch) })],
    });
    assert.ok(saved.length >= 1 && saved[0] === 0);
    assert.deepEqual(saved, [...saved].sort((a, b) => a - b));
    const dir = join(root, 'saved');
    await m.fit(x, y, { epochs: 1, batchSize: 8, callbacks: [modelCheckpoint({ save: () => saveModel(m, dir) })] });
    assert.ok(existsSync(join(dir, 'model.safetensors')));
  });
});

describe('backupAndRestore across processes', () => {
  /** Run the fit script; send `signal` once it has printed its first epoch. */
  function runScript(backup: string, signal?: NodeJS.Signals): Promise<{ code: number | null; killedBy: NodeJS.Signals | null; stdout: string }> {
    return new Promise((resolve) => {
      const child = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'test/helpers/fit-script.ts'), backup, '4'], { cwd: REPO_ROOT });
      let stdout = '';
      child.stdout.on('data', (d: Buffer) => {
        stdout += d.toString();
        if (signal && stdout.includes('epoch 1\n') && !child.killed) child.kill(signal);
      });
      child.on('close', (code, killedBy) => resolve({ code, killedBy, stdout }));
    });
  }
  const finalWeights = (stdout: string) => JSON.parse(stdout.trim().split('\n').at(-1)!) as { interrupted: boolean; weights: number[][] };

  for (const signal of ['SIGINT', 'SIGKILL'] as const) {
    test(`a fit ${signal === 'SIGINT' ? 'stopped by Ctrl-C' : 'killed (SIGKILL)'} after an epoch resumes to the same weights as an uninterrupted fit`, async () => {
      const straight = finalWeights((await runScript('')).stdout);
      const backup = join(root, `process-${signal}.safetensors`);
      const cut = await runScript(backup, signal);
      if (signal === 'SIGINT') assert.equal(finalWeights(cut.stdout).interrupted, true);
      else assert.equal(cut.killedBy, 'SIGKILL');
      assert.ok(existsSync(backup), 'the backup survives the interruption');
      const resumed = await runScript(backup);
      assert.equal(resumed.code, 0);
      assert.ok(!resumed.stdout.startsWith('epoch 1\n'), 'the resumed run does not start over');
      assert.deepEqual(finalWeights(resumed.stdout).weights, straight.weights);
    });
  }
});
