import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DownloadProgress } from '../../src/io/hub.js';
import { withLoadProgress, type DownloadProgressInfo } from '../../src/apps/load-progress.js';

const step = (downloadedBytes: number, totalBytes: number | undefined, done = false): DownloadProgress =>
  ({ file: 'model.safetensors', downloadedBytes, totalBytes, done });

test('progress_callback gets transformers.js events named after the model, and onProgress the raw ones', async () => {
  const events: DownloadProgressInfo[] = [];
  const raw: DownloadProgress[] = [];
  const result = await withLoadProgress('org/model', { progress_callback: (e) => events.push(e), onProgress: (p) => raw.push(p) }, async (report) => {
    for (const p of [step(25, 100), step(10, undefined), step(100, 100, true)]) report(p);
    return 'loaded';
  });
  assert.equal(result, 'loaded');
  assert.deepEqual(events, [
    { status: 'progress', name: 'org/model', file: 'model.safetensors', progress: 25, loaded: 25, total: 100 },
    { status: 'progress', name: 'org/model', file: 'model.safetensors', progress: 0, loaded: 10, total: 0 },
    { status: 'done', name: 'org/model', file: 'model.safetensors' },
  ]);
  assert.equal(raw.length, 3);
});

test("a failed load's error reaches the caller unchanged", async () => {
  const failure = new Error('no config.json');
  await assert.rejects(withLoadProgress('m', { progress_callback: () => {} }, async () => Promise.reject(failure)), (e: unknown) => e === failure);
});
