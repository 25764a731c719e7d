import { test } from 'node:test';
import assert from 'node:assert/strict';
import { splitExamples } from '../../../src/data/finetune/split.js';
import { FinetuneDataError } from '../../../src/data/finetune/problems.js';

const nums = (a: Int32Array): number[] => [...a];

test('the same (count, validation, seed) holds out the same examples; another seed others', () => {
  const a = splitExamples(100, 0.1, 7);
  const b = splitExamples(100, 0.1, 7);
  assert.deepEqual(nums(a.validation), nums(b.validation));
  assert.deepEqual(nums(a.train), nums(b.train));
  const c = splitExamples(100, 0.1, 8);
  assert.notDeepEqual(nums(c.validation), nums(a.validation));
});

test('a fraction is rounded to a count, a count is exact, the parts cover every index once, ascending', () => {
  for (const [validation, held] of [[0.25, 3], [0.04, 0], [5, 5], [0, 0]] as const) {
    const s = splitExamples(11, validation, 1);
    assert.equal(s.validation.length, held, `validation ${validation}`);
    assert.deepEqual([...s.train, ...s.validation].sort((x, y) => x - y), Array.from({ length: 11 }, (_, i) => i));
    for (const part of [s.train, s.validation]) for (let i = 1; i < part.length; i++) assert.ok(part[i - 1]! < part[i]!);
  }
  // Not simply the last examples: the permutation picks them.
  assert.notDeepEqual(nums(splitExamples(50, 10, 0).validation), Array.from({ length: 10 }, (_, i) => 40 + i));
});

test('bad settings name the option', () => {
  const option = (fn: () => unknown, name: string, pattern: RegExp): void =>
    assert.throws(fn, (e: unknown) => e instanceof FinetuneDataError && e.reason === 'option' && e.option === name && pattern.test(e.message));
  option(() => splitExamples(10, 1.5, 0), 'validation', /a fraction in \(0, 1\) or a whole count, got 1.5/);
  option(() => splitExamples(10, -1, 0), 'validation', /got -1/);
  option(() => splitExamples(10, 10, 0), 'validation', /holds out 10 of 10 examples, leaving none to train on/);
  option(() => splitExamples(10, 0.1, 0.5), 'seed', /seed must be an integer, got 0.5/);
});
