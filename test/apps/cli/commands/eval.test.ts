import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { forja, lastJsonLine } from '../../../helpers/forja-cli.js';

const scratch = await mkdtemp(join(tmpdir(), 'forja-eval-'));
after(() => rm(scratch, { recursive: true, force: true }));
/** A private classifier cache, so the test trains and caches it itself. */
const cache = { FORJA_CACHE: join(scratch, 'cache') };
const aeDir = join(scratch, 'ae');
const ganDir = join(scratch, 'gan');
const QUICK = ['--epochs', '1', '--limit', '64', '--batch-size', '32'];

before(async () => {
  const runs = await Promise.all([forja(['train', 'autoencoder', ...QUICK, '--out', aeDir]), forja(['train', 'gan', ...QUICK, '--out', ganDir])]);
  for (const run of runs) assert.equal(run.code, 0, run.stderr);
});

describe('forja eval', () => {
  test('trains and caches the classifier once, then reports FID and reconstruction BCE', async () => {
    const first = await forja(['eval', aeDir, '--json'], cache);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stderr, /training the FID classifier once/);
    const result = lastJsonLine(first.stdout);
    assert.equal(result.model, 'autoencoder');
    assert.equal(result.fid_of, 'reconstructions');
    assert.equal(result.fid_count, 1000);
    assert.equal(result.classifier_cached, false);
    // A two-layer MLP on 9,000 digits: well above 90 % on held-out digits.
    assert.ok((result.classifier_accuracy as number) > 0.9, `accuracy ${String(result.classifier_accuracy)}`);
    assert.ok((result.fid as number) > 0 && Number.isFinite(result.fid));
    // Barely trained: close to the BCE of predicting 0.5 everywhere (ln 2), and no worse.
    assert.ok((result.reconstruction_bce as number) > 0.3 && (result.reconstruction_bce as number) < 0.75);
    for (const file of ['config.json', 'model.safetensors', 'classifier.json']) assert.ok(existsSync(join(cache.FORJA_CACHE, 'mnist-classifier', file)));

    const [again, gan] = await Promise.all([forja(['eval', aeDir, '--json'], cache), forja(['eval', ganDir], cache)]);
    assert.equal(again.code, 0, again.stderr);
    const cached = lastJsonLine(again.stdout);
    assert.equal(cached.classifier_cached, true);
    assert.equal(cached.fid, result.fid, 'the same model and classifier give the same FID');
    assert.equal(gan.code, 0, gan.stderr);
    assert.match(gan.stdout, /FID \(1000 samples vs held-out digits\): \d+\.\d{3}/);
  });

  test('a directory that is not a run fails (1); a missing one or too many --threads is a usage error (2)', async () => {
    const cores = availableParallelism();
    const [notRun, missing, threads] = await Promise.all([
      forja(['eval', scratch], cache),
      forja(['eval', join(scratch, 'missing')], cache),
      forja(['eval', aeDir, '--threads', String(cores + 1)], cache),
    ]);
    assert.equal(notRun.code, 1, notRun.stderr);
    assert.match(notRun.stderr, /is not a forja train run directory/);
    assert.equal(missing.code, 2, missing.stderr);
    assert.match(missing.stderr, /run directory '.*missing' does not exist/);
    assert.equal(threads.code, 2, threads.stderr);
    assert.match(threads.stderr, new RegExp(`--threads must be at most ${cores} \\(the cores this machine has\\), got '${cores + 1}'`));
  });
});
