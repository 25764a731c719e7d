/**
 * The KV cache with spare capacity, (batch, n_kv, capacity, hs): in-place appends at the store's
 * tip, copy-on-write for every other cache, growth, the step's feeds (whole stores, a mask that hides
 * the spare positions), and the row and position edits batching and beam search make. Values are
 * hand-made so each float says where it belongs.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AppendKvCache } from '../../../src/models/transformer/append-cache.js';

// One tensor of 2 heads, head size 1.
const HEADS = 2;
/** 1000·tag + 100·row + 10·head + position, for positions [from, from + steps) of `batch` rows, as (batch, heads, steps, 1). */
const values = (tag: number, batch: number, from: number, steps: number): Float32Array =>
  Float32Array.from({ length: batch * HEADS * steps }, (_, i) => {
    const p = i % steps;
    const h = Math.floor(i / steps) % HEADS;
    const r = Math.floor(i / (steps * HEADS));
    return 1000 * tag + 100 * r + 10 * h + from + p;
  });

function grown(tag: number, batch: number, lengths: number[]): AppendKvCache {
  let c = AppendKvCache.empty(1, batch, HEADS, 1);
  for (const steps of lengths) {
    const from = c.length;
    c = c.reserve(steps, 1024);
    c.write(steps, [values(tag, batch, from, steps)]);
  }
  return c;
}

const positionsOf = (c: AppendKvCache): number[] => [...c.positions()[0]!];

describe('AppendKvCache', () => {
  test('appends step after step, keeping every earlier position, through growth', () => {
    const c = grown(1, 2, [3, 1, 1, 40, 1]);
    assert.deepEqual([c.batch, c.length], [2, 46]);
    assert.deepEqual(positionsOf(c), [...values(1, 2, 0, 46)]);
  });

  test('the tip appends in place; an older cache is copied, so neither overwrites the other', () => {
    const a = grown(1, 1, [2]);
    const b = a.reserve(1, 1024);
    b.write(1, [Float32Array.of(7, 8)]);
    assert.equal(b.buffers()[0], a.buffers()[0], 'the tip appended in place');
    const other = a.reserve(1, 1024);
    other.write(1, [Float32Array.of(9, 9)]);
    assert.notEqual(other.buffers()[0], a.buffers()[0], 'a second step from a was copied');
    assert.deepEqual(positionsOf(b), [1000, 1001, 7, 1010, 1011, 8]);
    assert.deepEqual(positionsOf(other), [1000, 1001, 9, 1010, 1011, 9]);
    assert.deepEqual(positionsOf(a), [1000, 1001, 1010, 1011]);
  });

  test('a cropped cache steps on from its own length without touching the longer one', () => {
    const long = grown(1, 1, [4]);
    const short = long.crop(2);
    const next = short.reserve(1, 1024);
    next.write(1, [Float32Array.of(5, 6)]);
    assert.deepEqual(positionsOf(next), [1000, 1001, 5, 1010, 1011, 6]);
    assert.deepEqual(positionsOf(long), [...values(1, 1, 0, 4)]);
  });

  test('growth stops at the maximum capacity', () => {
    let c = AppendKvCache.empty(1, 1, HEADS, 1).reserve(30, 33);
    c.write(30, [values(1, 1, 0, 30)]);
    assert.equal(c.buffers()[0]!.length, HEADS * 33, 'room for 30 + 32 capped at 33');
    const store = c.buffers()[0];
    c = c.reserve(3, 33);
    c.write(3, [values(1, 1, 30, 3)]);
    assert.equal(c.buffers()[0], store, 'filled in place');
    assert.deepEqual(positionsOf(c), [...values(1, 1, 0, 33)]);
  });

  test("a step is fed the whole stores, and the caller's mask with zeros at the spare positions", () => {
    const c = grown(1, 2, [2]).reserve(1, 1024).crop(2); // capacity 34, length 2
    const step = c.beginStep(1, 1024, BigInt64Array.from([0, 1, 1, 1, 1, 1], BigInt));
    assert.deepEqual(step.past[0]!.dims, [2, HEADS, 34, 1]);
    assert.equal(step.past[0]!.data, c.buffers()[0], 'no copy');
    const mask = Array.from(step.attentionMask.data as BigInt64Array, Number);
    assert.deepEqual(step.attentionMask.dims, [2, 35]);
    const row = (first: number[], last: number) => [...first, ...new Array<number>(32).fill(0), last];
    assert.deepEqual(mask, [...row([0, 1], 1), ...row([1, 1], 1)]);
    assert.throws(() => c.beginStep(1, 1024, new BigInt64Array(5)), /the attention mask has 5 entries, expected batch 2 × \(cache 2 \+ steps 1\)/);
  });

  test('selectRows reorders and repeats rows, every head and position', () => {
    const c = grown(1, 3, [2]).selectRows([2, 0, 2]);
    assert.deepEqual([c.batch, c.length], [3, 2]);
    assert.deepEqual(positionsOf(c), [1200, 1201, 1210, 1211, 1000, 1001, 1010, 1011, 1200, 1201, 1210, 1211]);
  });

  test('dropFirst keeps positions [start, length) of every row', () => {
    const c = grown(1, 2, [3]).dropFirst(2);
    assert.deepEqual([c.batch, c.length], [2, 1]);
    assert.deepEqual(positionsOf(c), [1002, 1012, 1102, 1112]);
  });

  test('concatPadded stacks rows, left-padding the shorter cache with zero positions', () => {
    const long = grown(1, 2, [3]);
    const short = grown(2, 1, [1]);
    const both = AppendKvCache.concatPadded([long, short], 'test');
    assert.deepEqual([both.batch, both.length], [3, 3]);
    assert.deepEqual(positionsOf(both), [...values(1, 2, 0, 3), 0, 0, 2000, 0, 0, 2010]);
    const wider = AppendKvCache.empty(1, 1, HEADS, 4);
    assert.throws(() => AppendKvCache.concatPadded([long, wider], 'x'), /x: cache 1 holds 1 tensors of 2 heads × 4, expected 1 of 2 × 1/);
  });

  test('a write of the wrong size names the tensor and the sizes', () => {
    const c = AppendKvCache.empty(2, 1, HEADS, 1).reserve(1, 8);
    assert.throws(() => c.write(1, [Float32Array.of(1, 1), Float32Array.of(1)]), /AppendKvCache\.write: tensor 1 has 1 floats, expected batch 1 × 2 heads × 1 positions × 1/);
  });
});
