/**
 * The positions-first KV cache with spare capacity: in-place appends at the store's tip,
 * copy-on-write for every other cache, growth, and the row and position edits batching and
 * beam search make. Values are hand-made so each float says where it belongs.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AppendKvCache } from '../../../src/models/transformer/append-cache.js';

// One tensor, rows of 2 floats (n_kv · hs = 2).
const ROW = 2;
/** `steps` positions of `batch` rows: value = 100·tag + 10·row + position, twice per row. */
const positions = (tag: number, batch: number, from: number, steps: number) =>
  Float32Array.from({ length: steps * batch * ROW }, (_, i) => 100 * tag + 10 * (Math.floor(i / ROW) % batch) + from + Math.floor(i / (batch * ROW)));

function grown(tag: number, batch: number, lengths: number[]): AppendKvCache {
  let c = AppendKvCache.empty(1, batch, ROW);
  for (const steps of lengths) {
    const from = c.length;
    c = c.reserve(steps, 1024);
    c.write(steps, [positions(tag, batch, from, steps)]);
  }
  return c;
}

describe('AppendKvCache', () => {
  test('appends step after step, keeping every earlier position, through growth', () => {
    const c = grown(1, 2, [3, 1, 1, 40, 1]);
    assert.deepEqual([c.batch, c.length], [2, 46]);
    assert.deepEqual([...c.views()[0]!], [...positions(1, 2, 0, 46)]);
  });

  test('the tip appends in place; an older cache is copied, so neither overwrites the other', () => {
    const a = grown(1, 1, [2]);
    const b = a.reserve(1, 1024);
    b.write(1, [Float32Array.of(7, 7)]);
    assert.equal(b.views()[0]!.buffer, a.views()[0]!.buffer, 'the tip appended in place');
    const other = a.reserve(1, 1024);
    other.write(1, [Float32Array.of(9, 9)]);
    assert.notEqual(other.views()[0]!.buffer, a.views()[0]!.buffer, 'a second step from a was copied');
    assert.deepEqual([...b.views()[0]!], [100, 100, 101, 101, 7, 7]);
    assert.deepEqual([...other.views()[0]!], [100, 100, 101, 101, 9, 9]);
    assert.deepEqual([...a.views()[0]!], [100, 100, 101, 101]);
  });

  test('a cropped cache steps on from its own length without touching the longer one', () => {
    const long = grown(1, 1, [4]);
    const short = long.crop(2);
    const next = short.reserve(1, 1024);
    next.write(1, [Float32Array.of(5, 5)]);
    assert.deepEqual([...next.views()[0]!], [100, 100, 101, 101, 5, 5]);
    assert.deepEqual([...long.views()[0]!], [...positions(1, 1, 0, 4)]);
  });

  test('growth stops at the maximum capacity', () => {
    let c = AppendKvCache.empty(1, 1, ROW).reserve(30, 33);
    c.write(30, [positions(1, 1, 0, 30)]);
    assert.equal(c.views()[0]!.buffer.byteLength, 33 * ROW * 4, 'room for 30 + 32 capped at 33');
    c = c.reserve(3, 33);
    c.write(3, [positions(1, 1, 30, 3)]);
    assert.equal(c.views()[0]!.buffer.byteLength, 33 * ROW * 4, 'filled in place');
    assert.deepEqual([...c.views()[0]!], [...positions(1, 1, 0, 33)]);
  });

  test('selectRows reorders and repeats rows at every position', () => {
    const c = grown(1, 3, [2]).selectRows([2, 0, 2]);
    assert.deepEqual([c.batch, c.length], [3, 2]);
    assert.deepEqual([...c.views()[0]!], [20, 20, 0, 0, 20, 20, 21, 21, 1, 1, 21, 21].map((v) => v + 100));
  });

  test('dropFirst keeps positions [start, length) of every row', () => {
    const c = grown(1, 2, [3]).dropFirst(2);
    assert.deepEqual([c.batch, c.length], [2, 1]);
    assert.deepEqual([...c.views()[0]!], [102, 102, 112, 112]);
  });

  test('concatPadded stacks rows, left-padding the shorter cache with zero positions', () => {
    const long = grown(1, 2, [3]);
    const short = grown(2, 1, [1]);
    const both = AppendKvCache.concatPadded([long, short], 'test');
    assert.deepEqual([both.batch, both.length], [3, 3]);
    assert.deepEqual([...both.views()[0]!], [100, 100, 110, 110, 0, 0, 101, 101, 111, 111, 0, 0, 102, 102, 112, 112, 200, 200]);
    const wider = AppendKvCache.empty(1, 1, 4);
    assert.throws(() => AppendKvCache.concatPadded([long, wider], 'x'), /x: cache 1 holds 1 tensors of 4 floats per row, expected 1 of 2/);
  });

  test('a write of the wrong size names the tensor and the sizes', () => {
    const c = AppendKvCache.empty(2, 1, ROW).reserve(1, 8);
    assert.throws(() => c.write(1, [Float32Array.of(1, 1), Float32Array.of(1)]), /AppendKvCache\.write: tensor 1 has 1 floats, expected 1 positions × 2/);
  });
});
