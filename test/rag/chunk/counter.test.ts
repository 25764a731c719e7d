import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from '../../../src/core/rng.js';
import { countWords, whitespaceCounter } from '../../../src/rag/chunk/counter.js';

test('countWords counts runs of non-whitespace, Unicode spaces included, as /\\S+/ does', () => {
  assert.equal(countWords(''), 0);
  assert.equal(countWords('  \n\t '), 0);
  assert.equal(countWords('one'), 1);
  assert.equal(countWords(' one  two\nthree\u00a0four\u3000five\u2028six '), 6);
  const alphabet = ['a', 'é', '語', '😀', ' ', '\n', '\t', '\u00a0', '\u2003', '\ufeff', '-', '.'];
  const rng = new Rng(3);
  for (let trial = 0; trial < 500; trial++) {
    const s = Array.from({ length: rng.int(40) }, () => alphabet[rng.int(alphabet.length)]!).join('');
    assert.equal(whitespaceCounter.countTokens(s), s.match(/\S+/g)?.length ?? 0, JSON.stringify(s));
  }
});
