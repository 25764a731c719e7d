import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readRunFile, readRunInfo, RUN_FILE, RUN_FORMAT, RunFileError } from '../../../src/models/mnist/run-file.js';

test('readRunFile reads a run, and names the file when it is missing, unreadable or corrupt', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'forja-run-file-'));
  try {
    const run = { format: RUN_FORMAT, model: 'vae', settings: { model: 'vae', epochs: 2, seed: 7, batchSize: 32, lr: 0.001, limit: null }, history: [{ epoch: 1, loss: 0.5 }] };
    await writeFile(join(dir, RUN_FILE), JSON.stringify(run));
    assert.deepEqual(await readRunFile(dir), run);
    assert.deepEqual(await readRunInfo(dir), { model: 'vae', seed: 7 });

    const empty = join(dir, 'empty');
    await mkdir(empty);
    await assert.rejects(readRunFile(empty), (e: RunFileError) => e instanceof RunFileError && e.reason === 'missing' && e.path === join(empty, RUN_FILE) && e.message === `${empty} is not a forja train run directory: ${join(empty, RUN_FILE)} is missing`);

    const notJson = join(dir, 'bad');
    await mkdir(notJson);
    await writeFile(join(notJson, RUN_FILE), '{"format":');
    await assert.rejects(readRunFile(notJson), (e: RunFileError) => e.reason === 'corrupt' && /run\.json is corrupt \(not valid JSON\)/.test(e.message));

    const other = join(dir, 'other');
    await mkdir(other);
    await writeFile(join(other, RUN_FILE), JSON.stringify({ ...run, format: 'something-else' }));
    await assert.rejects(readRunFile(other), (e: RunFileError) => e.reason === 'corrupt' && /is not a forja train run file \(expected "format": "forja-mnist-run"/.test(e.message));
    await writeFile(join(other, RUN_FILE), JSON.stringify({ ...run, settings: {} }));
    await assert.rejects(readRunFile(other), /is not a forja train run file/);
    await writeFile(join(other, RUN_FILE), 'null');
    await assert.rejects(readRunFile(other), /is not a forja train run file/);

    // A directory where run.json should be: unreadable, not missing.
    const dirAsFile = join(dir, 'dir-as-file');
    await mkdir(join(dirAsFile, RUN_FILE), { recursive: true });
    await assert.rejects(readRunFile(dirAsFile), (e: RunFileError) => e.reason === 'unreadable' && /^cannot read /.test(e.message));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
