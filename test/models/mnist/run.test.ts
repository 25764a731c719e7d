/** The training run: checkpoints, stopping on a non-finite loss, and resuming exactly. */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { autoencoder } from '../../../src/models/mnist/autoencoder.js';
import { vae } from '../../../src/models/mnist/vae.js';
import { gan } from '../../../src/models/mnist/gan.js';
import { CHECKPOINT_FILE, NothingToResumeError, trainRun, type RunOptions } from '../../../src/models/mnist/run.js';
import { readCheckpointRun, ResumeMismatchError, TrainingDivergedError } from '../../../src/train/index.js';
import { readSafetensors, readSafetensorsHeader, writeSafetensors } from '../../../src/io/safetensors.js';
import { legacyMnistCheckpoint } from '../../../src/models/mnist/state.js';
import type { MnistModelSpec } from '../../../src/models/mnist/spec.js';

let root: string;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'forja-run-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

/** 64 digits in batches of 32: two steps per epoch. */
const tiny = (outDir: string, epochs: number): RunOptions => ({ outDir, epochs, batchSize: 32, lr: 1e-2, seed: 4, limit: 64 });

/** The autoencoder, except that step `badStep` (counting from 1 over the whole run) returns a NaN loss. */
function nanAt(badStep: number): MnistModelSpec {
  return {
    ...autoencoder,
    create(options) {
      const trainer = autoencoder.create(options);
      let steps = 0;
      return { ...trainer, trainBatch: async (images, count) => (++steps === badStep ? { loss: Number.NaN } : trainer.trainBatch(images, count)) };
    },
  };
}

/** The saved model's tensors, by name. */
async function weights(dir: string): Promise<Record<string, number[]>> {
  const tensors = await readSafetensors(join(dir, 'model.safetensors'));
  return Object.fromEntries([...tensors].map(([name, t]) => [name, Array.from(t.data as Float32Array)]));
}

describe('trainRun', () => {
  test('writes the model, checkpoint, history and previews', async () => {
    const dir = join(root, 'fresh');
    const result = await trainRun(autoencoder, tiny(dir, 1));
    assert.equal(result.epochs, 1);
    assert.ok(Number.isFinite(result.trainLoss) && Number.isFinite(result.valLoss));
    assert.equal(result.interrupted, false);
    for (const file of ['config.json', 'model.safetensors', CHECKPOINT_FILE, 'run.json', 'loss.csv', 'loss.svg', 'reconstructions.png']) {
      assert.ok(existsSync(join(dir, file)), `${file} written`);
    }
    const csv = (await readFile(join(dir, 'loss.csv'), 'utf8')).trim().split('\n');
    assert.deepEqual(csv[0], 'epoch,loss,val_loss');
    assert.equal(csv.length, 2);
  });

  test('a NaN loss stops the run naming epoch and step, keeping the last good checkpoint', async () => {
    const dir = join(root, 'nan');
    await assert.rejects(trainRun(nanAt(3), tiny(dir, 3)), (err: unknown) => {
      assert.ok(err instanceof TrainingDivergedError);
      assert.deepEqual(err.position, { epoch: 1, step: 0, globalStep: 2 });
      assert.match(err.message, /epoch 2, step 1 .*loss is NaN/);
      return true;
    });
    const run = await readCheckpointRun(join(dir, CHECKPOINT_FILE));
    assert.deepEqual(run.position, { epoch: 1, step: 0, globalStep: 2 });
    assert.equal(run.history.length, 1);
  });

  for (const spec of [autoencoder, vae]) {
    test(`${spec.name}: stopping after epoch 1 and resuming gives the same losses as one uninterrupted run`, async () => {
      const straightDir = join(root, `${spec.name}-straight`);
      const dir = join(root, `${spec.name}-resumed`);
      const straight = await trainRun(spec, tiny(straightDir, 2));
      await trainRun(spec, tiny(dir, 1));
      const resumed = await trainRun(spec, { outDir: dir, epochs: 2, resume: true });
      const history = async (d: string) => (await readFile(join(d, 'loss.csv'), 'utf8')).trim().split('\n');
      const [a, b] = [await history(straightDir), await history(dir)];
      assert.equal(b.length, 3);
      assert.deepEqual(b, a);
      assert.equal(resumed.trainLoss, straight.trainLoss);
      assert.deepEqual(await weights(dir), await weights(straightDir));
    });
  }

  for (const spec of [vae, gan]) {
    test(`${spec.name}: a signal mid-epoch saves the position (and noise stream); resuming ends bit-identical to an uninterrupted run`, async () => {
      const straightDir = join(root, `${spec.name}-straight-mid`);
      const dir = join(root, `${spec.name}-interrupted`);
      await trainRun(spec, { ...tiny(straightDir, 2), batchSize: 16 });
      const stop = new AbortController();
      const first = await trainRun(spec, {
        ...tiny(dir, 2),
        batchSize: 16,
        signal: stop.signal,
        callbacks: [{ onBatchEnd: (batch, _logs) => void (batch === 1 && stop.abort()) }],
      });
      assert.equal(first.interrupted, true);
      assert.deepEqual(first.position, { epoch: 0, step: 2, globalStep: 2 });
      assert.equal(existsSync(join(dir, 'loss.svg')), false, 'no pictures for an unfinished run');
      const resumed = await trainRun(spec, { outDir: dir, resume: true });
      assert.equal(resumed.interrupted, false);
      assert.equal(resumed.epochs, 2);
      assert.deepEqual(await weights(dir), await weights(straightDir));
      assert.deepEqual(await readFile(join(dir, 'loss.csv'), 'utf8'), await readFile(join(straightDir, 'loss.csv'), 'utf8'));
    });
  }

  test('a checkpoint written by Forja 0.1 (format forja-mnist-checkpoint) resumes', async () => {
    const straightDir = join(root, 'legacy-straight');
    const dir = join(root, 'legacy');
    await trainRun(autoencoder, tiny(straightDir, 2));
    await trainRun(autoencoder, tiny(dir, 1));
    // Rewrite the checkpoint as the old runner did: the same tensor names, its metadata.
    const path = join(dir, CHECKPOINT_FILE);
    const tensors = await readSafetensors(path);
    const run = await readCheckpointRun(path);
    const old = { model: 'autoencoder', epoch: 1, epochs: 1, seed: 4, batchSize: 32, lr: 1e-2, limit: 64, history: run.history.map(({ epoch, ...l }) => ({ epoch: epoch + 1, ...l })), optimizerSteps: run.optimizers };
    await writeSafetensors(path, tensors, { format: 'forja-mnist-checkpoint', run: JSON.stringify(old) });
    assert.equal((await readSafetensorsHeader(path)).metadata.format, 'forja-mnist-checkpoint');
    assert.ok(legacyMnistCheckpoint((await readSafetensorsHeader(path)).metadata));
    await trainRun(autoencoder, { outDir: dir, epochs: 2, resume: true });
    assert.deepEqual(await weights(dir), await weights(straightDir));
  });

  test('resuming refuses settings that contradict the checkpoint, or a missing one', async () => {
    const dir = join(root, 'autoencoder-resumed');
    await assert.rejects(trainRun(autoencoder, { outDir: dir, epochs: 3, resume: true, lr: 0.5 }), (err: unknown) => {
      assert.ok(err instanceof ResumeMismatchError);
      assert.equal(err.setting, 'lr');
      assert.equal(err.given, 0.5);
      assert.equal(err.saved, 0.01);
      assert.doesNotMatch(err.message, /--/, 'the library names no CLI flag');
      return true;
    });
    await assert.rejects(trainRun(autoencoder, { outDir: dir, epochs: 2, resume: true }), (err: unknown) => err instanceof NothingToResumeError && err.reason === 'finished');
    await assert.rejects(trainRun(autoencoder, { outDir: join(root, 'nothing'), resume: true }), (err: unknown) => err instanceof NothingToResumeError && err.reason === 'no-checkpoint');
  });
});
