import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  batchCount,
  batches,
  epochSeed,
  gatherLabels,
  gatherRows,
  splitValidation,
  subset,
} from '../../src/data/index.js';

function flat(gen: Iterable<Int32Array>): number[] {
  const out: number[] = [];
  for (const b of gen) out.push(...b);
  return out;
}

test('batches cover every index exactly once per epoch', () => {
  for (const [count, size] of [[103, 10], [100, 10], [7, 32], [1, 1], [0, 4]] as const) {
    for (const epoch of [0, 1, 5]) {
      const sizes: number[] = [];
      const seen = flat(
        (function* () {
          for (const b of batches(count, size, { seed: 42, epoch })) {
            sizes.push(b.length);
            yield b;
          }
        })(),
      );
      assert.deepEqual([...seen].sort((a, b) => a - b), Array.from({ length: count }, (_, i) => i));
      assert.equal(sizes.length, batchCount(count, size));
      assert.ok(sizes.slice(0, -1).every((s) => s === size));
    }
  }
});

test('batches are deterministic per seed and epoch and differ across epochs', () => {
  const a = flat(batches(500, 64, { seed: 1, epoch: 0 }));
  assert.deepEqual(flat(batches(500, 64, { seed: 1, epoch: 0 })), a);
  assert.notDeepEqual(flat(batches(500, 64, { seed: 1, epoch: 1 })), a);
  assert.notDeepEqual(flat(batches(500, 64, { seed: 2, epoch: 0 })), a);
  // Hashed, not summed: (seed 1, epoch 0) and (seed 0, epoch 1) differ.
  assert.notDeepEqual(flat(batches(500, 64, { seed: 0, epoch: 1 })), a);
  assert.notEqual(epochSeed(1, 0), epochSeed(0, 1));
});

test('batches without shuffle go in order; dropRemainder skips the tail', () => {
  assert.deepEqual(
    [...batches(7, 3, { shuffle: false })].map((b) => Array.from(b)),
    [[0, 1, 2], [3, 4, 5], [6]],
  );
  const kept = [...batches(103, 10, { seed: 9, dropRemainder: true })];
  assert.equal(kept.length, 10);
  assert.equal(batchCount(103, 10, true), 10);
  assert.ok(kept.every((b) => b.length === 10));
  assert.equal(new Set(kept.flatMap((b) => Array.from(b))).size, 100);
});

test('batches rejects bad arguments', () => {
  assert.throws(() => [...batches(10, 0)], /batches: batchSize must be an integer >= 1, got 0/);
  assert.throws(() => [...batches(-1, 2)], /batches: count/);
  assert.throws(() => [...batches(10, 2, { epoch: 1.5 })], /batches: epoch/);
});

test('gatherRows fills a reusable buffer and returns the filled part', () => {
  const src = Float32Array.from({ length: 12 }, (_, i) => i); // 4 rows of 3
  const out = new Float32Array(9);
  const full = gatherRows(src, 3, [3, 0, 2], out);
  assert.equal(full, out);
  assert.deepEqual(Array.from(out), [9, 10, 11, 0, 1, 2, 6, 7, 8]);
  const part = gatherRows(src, 3, Int32Array.of(1), out);
  assert.equal(part.buffer, out.buffer);
  assert.deepEqual(Array.from(part), [3, 4, 5]);
  assert.deepEqual(Array.from(gatherRows(src, 3, [])), []);
  assert.throws(() => gatherRows(src, 3, [4]), /gatherRows: indices\[0\] = 4 is outside 0..3/);
  assert.throws(() => gatherRows(src, 5, [0]), /not a multiple of rowSize 5/);
  assert.throws(() => gatherRows(src, 3, [0, 1, 2, 3], out), /out holds 9 values/);
  assert.deepEqual(Array.from(gatherLabels(Uint8Array.of(5, 6, 7), [2, 2, 0])), [7, 7, 5]);
});

test('splitValidation splits by count or fraction, disjoint and deterministic', () => {
  const s = splitValidation(100, 20, 5);
  assert.equal(s.val.length, 20);
  assert.equal(s.train.length, 80);
  const all = [...s.train, ...s.val].sort((a, b) => a - b);
  assert.deepEqual(all, Array.from({ length: 100 }, (_, i) => i));
  assert.deepEqual(splitValidation(100, 20, 5), s);
  assert.notDeepEqual(splitValidation(100, 20, 6).val, s.val);
  assert.equal(splitValidation(100, 0.25, 5).val.length, 25);
  assert.equal(splitValidation(100, 0, 5).val.length, 0);
  assert.throws(() => splitValidation(100, 101, 5), /splitValidation: validation must be/);
  assert.throws(() => splitValidation(100, 1.5, 5), /got 1.5/);
});

test('subset copies the chosen rows', () => {
  const ds = { images: Float32Array.of(0, 0, 1, 1, 2, 2), labels: Uint8Array.of(0, 1, 2), count: 3, rows: 1, cols: 2 };
  const sub = subset(ds, [2, 0]);
  assert.deepEqual(Array.from(sub.images), [2, 2, 0, 0]);
  assert.deepEqual(Array.from(sub.labels), [2, 0]);
  assert.equal(sub.count, 2);
  assert.equal(sub.rows, 1);
});
