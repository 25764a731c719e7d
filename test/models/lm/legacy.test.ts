/** Runs saved by the GPT runner before checkpoint.safetensors existed (the layout: test/helpers/legacy-gpt-run.ts). */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CHECKPOINT_FILE, isLmRunDir, readLmRun } from '../../../src/models/lm/checkpoint.js';
import { LEGACY_FILES } from '../../../src/models/lm/legacy.js';
import { runLmTraining, type LmRunOptions } from '../../../src/models/lm/run.js';
import { LM_DEFAULTS } from '../../../src/models/lm/settings.js';
import type { Callback } from '../../../src/train/callbacks.js';
import { CheckpointError } from '../../../src/train/errors.js';
import type { Trainer } from '../../../src/train/trainer.js';
import { rewriteAsLegacyGptRun as toLegacy } from '../../helpers/legacy-gpt-run.js';

const TEXT = 'the quick brown fox jumps over the lazy dog.\n'.repeat(60);
const SETTINGS = { layers: 1, heads: 2, embd: 16, blockSize: 16, batchSize: 4, steps: 6, warmupSteps: 2, evalInterval: 3, evalBatches: 1, sampleTokens: 4 };

const scratch = await mkdtemp(join(tmpdir(), 'forja-lm-legacy-'));
after(() => rm(scratch, { recursive: true, force: true }));
const dirFor = (name: string): string => join(scratch, name);

function stopAt(step: number): { signal: AbortSignal; callbacks: Callback[] } {
  const stop = new AbortController();
  let trainer!: Trainer;
  return { signal: stop.signal, callbacks: [{ setTrainer: (t) => (trainer = t), onBatchEnd: () => void (trainer.position.globalStep === step && stop.abort()) }] };
}

describe('legacy GPT runs', () => {
  const train = (name: string, extra: Partial<LmRunOptions> = {}) => runLmTraining({ text: TEXT, settings: SETTINGS, outDir: dirFor(name), ...extra });

  before(async () => {
    await train('straight');
    for (const [name, step] of [['at-evaluation', 3], ['mid-interval', 4]] as const) {
      await train(name, stopAt(step));
      await toLegacy(dirFor(name));
    }
  });

  test('are recognised, with the old settings as a GPT-2 run and only interval-end evaluations as epochs', async () => {
    const run = await readLmRun(dirFor('mid-interval'));
    assert.ok(run);
    assert.equal(run.format, 'legacy');
    assert.equal(run.meta.settings.architecture, 'gpt2');
    assert.deepEqual(run.meta.settings, { ...LM_DEFAULTS, ...SETTINGS, architecture: 'gpt2' });
    assert.deepEqual(run.position, { epoch: 1, step: 1, globalStep: 4 });
    assert.deepEqual(run.history.map((h) => h.epoch), [0]);
    assert.equal(await isLmRunDir(dirFor('at-evaluation')), true);
  });

  for (const name of ['at-evaluation', 'mid-interval']) {
    test(`${name}: resume converts the run and ends bit-identical to an uninterrupted one`, async () => {
      const dir = dirFor(name);
      const resumed = await runLmTraining({ text: TEXT, outDir: dir, resume: true });
      assert.deepEqual([resumed.steps, resumed.interrupted], [6, false]);
      const a = await readFile(join(dirFor('straight'), 'model.safetensors'));
      const b = await readFile(join(dir, 'model.safetensors'));
      assert.ok(a.equals(b), 'model.safetensors differs from the uninterrupted run');
      assert.ok(existsSync(join(dir, CHECKPOINT_FILE)), 'the run now has the one checkpoint format');
      for (const file of Object.values(LEGACY_FILES)) assert.ok(!existsSync(join(dir, file)), `${file} is removed once converted`);
      const run = (await readLmRun(dir))!;
      assert.deepEqual([run.format, run.position.globalStep, run.history.map((h) => h.epoch)], ['checkpoint', 6, [0, 1]]);
    });
  }

  test('a trainer_state.json of another format is a CheckpointError naming the file', async () => {
    const dir = dirFor('foreign');
    await train('foreign', stopAt(3));
    await toLegacy(dir);
    await writeFile(join(dir, LEGACY_FILES.state), JSON.stringify({ format: 'something-else', step: 3 }));
    await assert.rejects(readLmRun(dir), (err: Error) => err instanceof CheckpointError && err.path.endsWith(LEGACY_FILES.state) && /not a Forja GPT training state/.test(err.message));
  });
});
