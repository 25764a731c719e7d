import { test } from 'node:test';
import assert from 'node:assert/strict';
import { epochProgress, formatMetrics, progressCallback } from '../../../src/apps/cli/progress.js';
import type { Trainer } from '../../../src/train/index.js';

function fakeStream(isTTY: boolean) {
  const chunks: string[] = [];
  const stream = { isTTY, columns: 200, write: (c: string) => (chunks.push(String(c)), true) } as unknown as NodeJS.WriteStream;
  // Drop terminal escape codes to read what was drawn.
  const text = () => chunks.join('').replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').replace(/\r/g, '\n');
  return { stream, chunks, text };
}

test('formatMetrics: 4 decimals, exponent for tiny or huge values', () => {
  assert.equal(formatMetrics({ loss: 0.14234, val_loss: 2 }), 'loss: 0.1423 - val_loss: 2.0000');
  assert.equal(formatMetrics({ lr: 0.0001, big: 123456, zero: 0 }), 'lr: 1.000e-4 - big: 1.235e+5 - zero: 0.0000');
  assert.equal(formatMetrics({}), '');
});

test('epochProgress is silent off a TTY', () => {
  const s = fakeStream(false);
  const p = epochProgress({ epoch: 1, epochs: 2, steps: 3, stream: s.stream });
  p.step(1, { loss: 1 });
  p.end({ loss: 1 });
  assert.deepEqual(s.chunks, []);
});

test('progressCallback on a TTY draws an epoch header and a full bar with the final logs', () => {
  const s = fakeStream(true);
  const trainer = { task: { epochs: 2, stepsInEpoch: () => 4 }, position: { epoch: 0, step: 0, globalStep: 0 }, epochMeans: {} as Record<string, number> };
  const cb = progressCallback({ stream: s.stream });
  cb.setTrainer!(trainer as unknown as Trainer);
  cb.onEpochBegin!(0, {});
  for (let step = 1; step <= 4; step++) {
    trainer.position = { epoch: 0, step, globalStep: step };
    trainer.epochMeans = { loss: 1 / step };
    cb.onBatchEnd!(step - 1, {});
  }
  cb.onEpochEnd!(0, { loss: 0.25, val_loss: 0.5 });
  const text = s.text();
  assert.match(text, /^Epoch 1\/2\n/);
  assert.match(text, /4\/4 \[={30}\] \d+s \d+ms\/step - loss: 0\.2500 - val_loss: 0\.5000/);
  assert.doesNotMatch(text, /\{"epoch"/);
});

test('progressCallback with jsonLines writes one JSON object per epoch', () => {
  const s = fakeStream(false);
  const trainer = { task: { epochs: 3, stepsInEpoch: () => 2 }, position: { epoch: 1, step: 2, globalStep: 4 }, epochMeans: {} };
  const cb = progressCallback({ jsonLines: true, stream: s.stream });
  cb.setTrainer!(trainer as unknown as Trainer);
  cb.onEpochBegin!(1, {});
  cb.onBatchEnd!(1, {});
  cb.onEpochEnd!(1, { loss: 0.5 });
  cb.stop();
  assert.deepEqual(s.chunks.map((l) => JSON.parse(l)), [{ epoch: 2, epochs: 3, step: 4, loss: 0.5 }]);
  assert.ok(s.chunks[0]!.endsWith('\n'));
});
