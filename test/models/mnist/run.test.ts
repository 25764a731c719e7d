/** The training run: checkpoints, stopping on a non-finite loss, and resuming exactly. */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { autoencoder } from '../../../src/models/mnist/autoencoder.js';
import { vae } from '../../../src/models/mnist/vae.js';
import { CHECKPOINT_FILE, readCheckpointMeta } from '../../../src/models/mnist/checkpoint.js';
import { RunSettingsError, trainRun, TrainingStoppedError, type RunOptions } from '../../../src/models/mnist/run.js';
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

describe('trainRun', () => {
  test('writes the model, checkpoint, history and previews', async () => {
    const dir = join(root, 'fresh');
    const result = await trainRun(autoencoder, tiny(dir, 1));
    assert.equal(result.epochs, 1);
    assert.ok(Number.isFinite(result.train_loss) && Number.isFinite(result.val_loss));
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
      assert.ok(err instanceof TrainingStoppedError);
      assert.match(err.message, /epoch 2, step 1: loss is NaN/);
      assert.match(err.message, /checkpoint of epoch 1/);
      return true;
    });
    const meta = await readCheckpointMeta(join(dir, CHECKPOINT_FILE));
    assert.equal(meta.epoch, 1);
    assert.equal(meta.history.length, 1);
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
      assert.equal(resumed.train_loss, straight.train_loss);
    });
  }

  test('resuming refuses settings that contradict the checkpoint, or a missing one', async () => {
    const dir = join(root, 'autoencoder-resumed');
    await assert.rejects(trainRun(autoencoder, { outDir: dir, epochs: 3, resume: true, lr: 0.5 }), (err: unknown) => {
      assert.ok(err instanceof RunSettingsError);
      assert.match(err.message, /--lr 0.5 differs from the checkpoint's 0.01/);
      return true;
    });
    await assert.rejects(trainRun(autoencoder, { outDir: dir, epochs: 2, resume: true }), /already has 2 of 2 epochs/);
    await assert.rejects(trainRun(autoencoder, { outDir: join(root, 'nothing'), resume: true }), /no checkpoint in/);
  });
});
