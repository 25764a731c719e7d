import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { anyCriterion, eosCriterion, maxLengthCriterion, stopStringCriterion } from '../../src/text/stopping.js';

describe('maxLengthCriterion and eosCriterion', () => {
  test('max length counts every token, prompt included', () => {
    const done = maxLengthCriterion(3);
    assert.deepEqual([[], [1, 2], [1, 2, 3], [1, 2, 3, 4]].map(done), [false, false, true, true]);
  });

  test('EOS: only the newest token counts, any of the ids', () => {
    const done = eosCriterion([2, 7]);
    assert.deepEqual([[], [1], [1, 7], [2, 1], [5, 2]].map(done), [false, false, true, false, true]);
    assert.equal(eosCriterion([])([0]), false);
  });

  test('anyCriterion is done when one of them is', () => {
    const done = anyCriterion([maxLengthCriterion(4), eosCriterion([9])]);
    assert.deepEqual([[1], [1, 9], [1, 2, 3, 4]].map(done), [false, true, true]);
    assert.equal(anyCriterion([])([1]), false);
  });
});

describe('stopStringCriterion', () => {
  const WORDS = ['a', 'b', 'st', 'op', 'opx', 's', 't', 'o', 'p'];
  const decode = (ids: number[]) => ids.map((i) => WORDS[i]).join('');
  const ids = (...words: string[]) => words.map((w) => WORDS.indexOf(w));

  test('a stop string spread over tokens stops when its last part arrives', () => {
    const done = stopStringCriterion(['stop'], decode);
    assert.equal(done(ids('a', 'st')), false);
    assert.equal(done(ids('a', 'st', 'op')), true);
    assert.equal(done(ids('a', 's', 't', 'o', 'p')), true, 'one character per token');
  });

  test('the newest token may run past the end of the stop string', () => {
    assert.equal(stopStringCriterion(['stop'], decode)(ids('st', 'opx')), true);
  });

  test('a match that ended in earlier tokens does not count again', () => {
    assert.equal(stopStringCriterion(['stop'], decode)(ids('st', 'op', 'a')), false);
  });

  test('any of several stop strings; none means never', () => {
    const done = stopStringCriterion(['ab', 'top'], decode);
    assert.equal(done(ids('a', 'b')), true);
    assert.equal(done(ids('s', 't', 'op')), true);
    assert.equal(done(ids('b', 'a')), false);
    assert.equal(stopStringCriterion([], decode)(ids('st', 'op')), false);
    assert.equal(stopStringCriterion(['x'], decode)([]), false);
  });

  test('decodes only the last (longest stop string) tokens', () => {
    const lengths: number[] = [];
    const spy = (t: number[]) => (lengths.push(t.length), decode(t));
    stopStringCriterion(['abc', 'stop'], spy)(ids('a', 'b', 'a', 'b', 'a', 'b', 'st', 'op'));
    assert.ok(lengths.length > 0 && Math.max(...lengths) <= 4, `decoded ${lengths.join(', ')} tokens`);
  });
});

describe('stopStringCriterion with byte-level tokens', () => {
  // Each token is one UTF-8 byte, as byte-level BPE can split '好' (3 bytes) over three tokens.
  const decode = (ids: number[]) => new TextDecoder().decode(Uint8Array.from(ids));
  const bytes = (text: string) => [...Buffer.from(text, 'utf8')];

  test('a non-ASCII stop string split over byte tokens still stops', () => {
    for (const stop of ['好。', '😀', '。']) {
      const done = stopStringCriterion([stop], decode);
      const tokens = bytes(`ab${stop}`);
      assert.equal(done(tokens), true, stop);
      assert.equal(done(tokens.slice(0, -1)), false, `${stop}: not before its last byte`);
    }
  });
});
