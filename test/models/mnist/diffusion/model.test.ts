/** The diffusion model as an MNIST run: training, exact resume, loading, and conditional sampling. */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { diffusionSpec } from '../../../../src/models/mnist/diffusion/model.js';
import { loadRunModel } from '../../../../src/models/mnist/registry.js';
import { trainRun, type RunOptions } from '../../../../src/models/mnist/run.js';

/** A U-Net small enough for tests, sampled in 2 DDIM steps. */
const tiny = diffusionSpec({ channels: [8, 16], groups: 4, embedDim: 16 }, { steps: 2, guidance: 2 });
const settings = (outDir: string): RunOptions => ({ outDir, epochs: 2, batchSize: 8, lr: 2e-3, seed: 3, limit: 24 });

let root: string;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'forja-diffusion-'));
});
after(() => rm(root, { recursive: true, force: true }));

describe('diffusion run', () => {
  test('a signal mid-epoch, then --resume, ends bit-identical to an uninterrupted run (weights, EMA, noise stream)', async () => {
    const straight = join(root, 'straight');
    const dir = join(root, 'interrupted');
    const full = await trainRun(tiny, settings(straight));
    assert.ok(Number.isFinite(full.trainLoss) && Number.isFinite(full.valLoss));
    for (const file of ['config.json', 'model.safetensors', 'diffusion.json', 'checkpoint.safetensors', 'samples.png', 'loss.csv']) assert.ok(existsSync(join(straight, file)), `${file} written`);
    const stop = new AbortController();
    const first = await trainRun(tiny, { ...settings(dir), signal: stop.signal, callbacks: [{ onBatchEnd: (batch) => void (batch === 1 && stop.abort()) }] });
    assert.equal(first.interrupted, true);
    assert.deepEqual(first.position, { epoch: 0, step: 2, globalStep: 2 });
    const resumed = await trainRun(tiny, { outDir: dir, resume: true });
    assert.equal(resumed.epochs, 2);
    assert.deepEqual(await readFile(join(dir, 'model.safetensors')), await readFile(join(straight, 'model.safetensors')));
    assert.deepEqual(await readFile(join(dir, 'loss.csv'), 'utf8'), await readFile(join(straight, 'loss.csv'), 'utf8'));
  });

  test('a loaded run samples the digits asked for; DDIM with eta 0 repeats given the seed', async () => {
    const dir = join(root, 'straight');
    const [a, b] = [await loadRunModel(dir), await loadRunModel(dir)];
    assert.ok(a.sampleDigits && b.sampleDigits);
    const sevens = await a.sampleDigits([7, 7, 7], { seed: 1 });
    assert.equal(sevens.length, 3 * 784);
    assert.ok(sevens.every((v) => v >= 0 && v <= 1), 'pixels in [0, 1]');
    assert.deepEqual(await b.sampleDigits([7, 7, 7], { seed: 1 }), sevens, 'same seed, same digits, in another session');
    assert.notDeepEqual(await a.sampleDigits([7, 7, 7], { seed: 2 }), sevens, 'another seed');
    assert.notDeepEqual(await a.sampleDigits([1, 1, 1], { seed: 1 }), sevens, 'the class conditions the result');
    assert.notDeepEqual(await a.sampleDigits([7, 7, 7], { seed: 1, guidance: 0 }), sevens, 'guidance changes the result');
    let steps = 0;
    await a.sampleDigits([0], { seed: 1, steps: 3, onStep: () => void steps++ });
    assert.equal(steps, 3);
  });

  test('labels outside 0–9 and a bad guidance are refused, naming the value', async () => {
    const model = await loadRunModel(join(root, 'straight'));
    await assert.rejects(model.sampleDigits!([3, 12], { seed: 0 }), /label 1 is 12; digits are 0–9/);
    await assert.rejects(model.sampleDigits!([3], { seed: 0, guidance: -0.5 }), /guidance must be a finite number ≥ 0, received -0.5/);
  });
});
