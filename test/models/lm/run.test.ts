import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { readSafetensors, readSafetensorsHeader, writeSafetensors } from '../../../src/io/safetensors.js';
import { CHECKPOINT_FILE, readLmRun } from '../../../src/models/lm/checkpoint.js';
import { runLmTraining, type LmRunOptions } from '../../../src/models/lm/run.js';
import { LmSettingsError } from '../../../src/models/lm/settings.js';
import { ResumeMismatchError, TrainingDivergedError } from '../../../src/train/errors.js';
import type { Trainer } from '../../../src/train/trainer.js';

const TEXT = 'the quick brown fox jumps over the lazy dog.\n'.repeat(60);
const SETTINGS = { layers: 2, heads: 2, embd: 32, blockSize: 16, batchSize: 8, steps: 6, lr: 1e-2, warmupSteps: 2, evalInterval: 3, evalBatches: 2, sampleTokens: 8 };

const scratch = await mkdtemp(join(tmpdir(), 'forja-lm-run-'));
after(() => rm(scratch, { recursive: true, force: true }));
const dirFor = (name: string): string => join(scratch, name);

function stopAt(step: number): Pick<LmRunOptions, 'signal' | 'callbacks'> {
  const stop = new AbortController();
  let trainer!: Trainer;
  return { signal: stop.signal, callbacks: [{ setTrainer: (t) => (trainer = t), onBatchEnd: () => void (trainer.position.globalStep === step && stop.abort()) }] };
}

const settingsError = (setting: string, message: RegExp) => (err: Error) => err instanceof LmSettingsError && err.setting === setting && message.test(err.message);

describe('runLmTraining', () => {
  test('an interrupted run resumed from its checkpoint ends exactly where an uninterrupted one does', async () => {
    const evaluated: number[] = [];
    const straight = await runLmTraining({ text: TEXT, settings: SETTINGS, outDir: dirFor('straight'), onEvaluation: (e) => void evaluated.push(e.step) });
    assert.deepEqual(evaluated, [3, 6]);
    const first = await runLmTraining({ text: TEXT, settings: SETTINGS, outDir: dirFor('resumed'), ...stopAt(4) });
    assert.deepEqual([first.steps, first.interrupted, first.valLoss], [4, true, (await readLmRun(dirFor('resumed')))!.history[0]!.val_loss]);
    const resumed = await runLmTraining({ text: TEXT, outDir: dirFor('resumed'), resume: true });
    assert.deepEqual([resumed.startStep, resumed.steps, resumed.interrupted], [4, 6, false]);
    assert.equal(resumed.valLoss, straight.valLoss);
    for (const file of ['model.safetensors', CHECKPOINT_FILE, 'loss.csv']) {
      const a = await readFile(join(dirFor('straight'), file));
      const b = await readFile(join(dirFor('resumed'), file));
      assert.ok(a.equals(b), `${file} differs between the straight and the resumed run`);
    }
  });

  test('tokens/s is the training tokens of this call over the time of its steps alone', async () => {
    const r = await runLmTraining({ text: TEXT, settings: SETTINGS, outDir: dirFor('speed') });
    const tokens = (r.steps - r.startStep) * SETTINGS.batchSize * SETTINGS.blockSize;
    assert.ok(Math.abs(r.tokensPerSecond * r.trainingSeconds - tokens) < 1e-6 * tokens);
    assert.ok(r.trainingSeconds > 0 && r.trainingSeconds < r.seconds, `${r.trainingSeconds} of ${r.seconds} s`);
    assert.deepEqual([r.architecture, r.out, typeof r.parameters], ['gpt2', dirFor('speed'), 'number']);
  });

  test('resume refuses other data, other settings, a finished run and a directory without a run', async () => {
    const dir = dirFor('straight');
    await assert.rejects(runLmTraining({ text: TEXT + 'x', outDir: dir, resume: true }), settingsError('data', /^data differs from the text the run in .* was trained on/));
    await assert.rejects(
      runLmTraining({ text: TEXT, outDir: dir, resume: true, settings: { embd: 64 } }),
      (err: Error) => err instanceof ResumeMismatchError && err.setting === 'embd' && err.given === 64 && err.saved === 32,
    );
    await assert.rejects(
      runLmTraining({ text: TEXT, outDir: dir, resume: true, settings: { architecture: 'llama' } }),
      (err: Error) => err instanceof ResumeMismatchError && err.setting === 'architecture',
    );
    await assert.rejects(runLmTraining({ text: TEXT, outDir: dir, resume: true }), settingsError('resume', /already finished its 6 steps/));
    await assert.rejects(runLmTraining({ text: TEXT, outDir: dirFor('nothing-here'), resume: true }), settingsError('resume', /holds no training run to continue/));
    await assert.rejects(runLmTraining({ text: TEXT, resume: true }), settingsError('outDir', /resuming needs outDir/));
    await assert.rejects(runLmTraining({ text: TEXT, outDir: dir, resume: true, overwrite: true }), settingsError('overwrite', /give one of them/));
  });

  test('a fresh run refuses a directory holding a run or other files, unless told to overwrite it', async () => {
    await assert.rejects(runLmTraining({ text: TEXT, settings: SETTINGS, outDir: dirFor('straight') }), settingsError('outDir', /already holds a training run: continue it with resume, or start again with overwrite/));
    const foreign = dirFor('hub-copy');
    await mkdir(foreign, { recursive: true });
    await writeFile(join(foreign, 'vocab.json'), '{}');
    await assert.rejects(runLmTraining({ text: TEXT, settings: SETTINGS, outDir: foreign }), settingsError('outDir', /is not empty and holds no training run/));
    assert.deepEqual(await readdir(foreign), ['vocab.json'], 'nothing was touched');
    await assert.rejects(runLmTraining({ text: TEXT, settings: SETTINGS, outDir: '' }), settingsError('outDir', /must not be empty/));
    await assert.rejects(runLmTraining({ text: TEXT, settings: SETTINGS, outDir: join(foreign, 'vocab.json') }), settingsError('outDir', /is a file, not a directory/));

    const r = await runLmTraining({ text: TEXT, settings: { ...SETTINGS, steps: 3 }, outDir: foreign, overwrite: true });
    assert.equal(r.steps, 3);
    assert.ok(!existsSync(join(foreign, 'vocab.json')), 'overwrite replaces what the directory held');
    assert.ok(existsSync(join(foreign, CHECKPOINT_FILE)));
  });

  test('settings that do not fit the data or memory are refused before training', async () => {
    await assert.rejects(runLmTraining({ text: TEXT, settings: { ...SETTINGS, blockSize: 300 } }), settingsError('blockSize', /validation split of data has only \d+ tokens/));
    await assert.rejects(runLmTraining({ text: TEXT, settings: { ...SETTINGS, batchSize: 1e9 } }), settingsError('batchSize', /GiB per training step/));
  });

  test('a non-finite loss stops the run naming the step and keeps the last checkpoint', async () => {
    const dir = dirFor('diverge');
    await runLmTraining({ text: TEXT, settings: SETTINGS, outDir: dir, ...stopAt(3) });
    const path = join(dir, CHECKPOINT_FILE);
    const saved = await readSafetensors(path);
    const { metadata } = await readSafetensorsHeader(path);
    const poisoned = new Map([...saved].map(([name, t]) => [name, { shape: t.shape, data: t.data }]));
    (poisoned.get('transformer.ln_f.weight')!.data as Float32Array)[0] = Number.NaN;
    await writeSafetensors(path, poisoned, metadata);
    const before = await readFile(path);
    await assert.rejects(
      runLmTraining({ text: TEXT, outDir: dir, resume: true }),
      (err: Error) => err instanceof TrainingDivergedError && err.position.globalStep === 3 && err.during === 'step' && /loss is NaN/.test(err.values),
    );
    assert.ok(before.equals(await readFile(path)), 'the last checkpoint is kept as it was');
  });
});
