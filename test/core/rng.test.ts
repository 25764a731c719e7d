import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/core/rng.js';

test('the stream for a seed is the published mulberry32 sequence', () => {
  // Reference values from an independent (Python) mulberry32.
  const r0 = new Rng(0);
  assert.deepEqual([r0.next(), r0.next(), r0.next(), r0.next()], [0.26642920868471265, 0.0003297457005828619, 0.2232720274478197, 0.1462021479383111]);
  const r42 = new Rng(42);
  assert.deepEqual([r42.next(), r42.next()], [0.6011037519201636, 0.44829055899754167]);
  // Seeds are taken as uint32: -1 and 2^32-1 are the same generator.
  assert.equal(new Rng(-1).next(), new Rng(0xffffffff).next());
});

test('saving and restoring the state continues the same stream', () => {
  const a = new Rng(7);
  for (let i = 0; i < 5; i++) a.next();
  const saved = a.state;
  const expected = [a.next(), a.normal(), a.int(100)];
  const b = new Rng(123);
  b.state = saved;
  assert.deepEqual([b.next(), b.normal(), b.int(100)], expected);
});

test('int stays in [0, n), next in [0, 1), normal has mean ~0 and variance ~1', () => {
  const r = new Rng(3);
  const counts = new Array<number>(5).fill(0);
  for (let i = 0; i < 5000; i++) {
    const k = r.int(5);
    assert.ok(Number.isInteger(k) && k >= 0 && k < 5);
    counts[k]!++;
  }
  for (const c of counts) assert.ok(c > 850 && c < 1150, `int(5) is skewed: ${counts.join(',')}`);
  let sum = 0;
  let sq = 0;
  const n = 20000;
  for (let i = 0; i < n; i++) {
    const z = r.normal();
    sum += z;
    sq += z * z;
  }
  const mean = sum / n;
  assert.ok(Math.abs(mean) < 0.03, `mean ${mean}`);
  assert.ok(Math.abs(sq / n - mean * mean - 1) < 0.05, `variance ${sq / n}`);
});

test('permutation is a permutation of 0..n-1, seeded, and not the identity', () => {
  const p = new Rng(11).permutation(50);
  assert.ok(p instanceof Int32Array);
  assert.deepEqual([...p].sort((a, b) => a - b), Array.from({ length: 50 }, (_, i) => i));
  assert.notDeepEqual([...p], Array.from({ length: 50 }, (_, i) => i));
  assert.deepEqual([...new Rng(11).permutation(50)], [...p]);
  assert.notDeepEqual([...new Rng(12).permutation(50)], [...p]);
  assert.deepEqual([...new Rng(1).permutation(1)], [0]);
  assert.deepEqual([...new Rng(1).permutation(0)], []);
});

test('shuffle works in place on arrays, keeping every element', () => {
  const items = ['a', 'b', 'c', 'd', 'e', 'f'];
  const out = new Rng(5).shuffle(items);
  assert.equal(out, items);
  assert.deepEqual([...items].sort(), ['a', 'b', 'c', 'd', 'e', 'f']);
  // Fisher-Yates draws int(i+1) for i = n-1..1: replay it by hand.
  const r = new Rng(5);
  const ref = ['a', 'b', 'c', 'd', 'e', 'f'];
  for (let i = ref.length - 1; i > 0; i--) {
    const j = Math.floor(r.next() * (i + 1));
    [ref[i], ref[j]] = [ref[j]!, ref[i]!];
  }
  assert.deepEqual(items, ref);
});
