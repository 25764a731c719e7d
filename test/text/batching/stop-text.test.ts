/** StreamedText: stop strings found across token boundaries, held-back text, and multi-byte characters. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { StreamedText } from '../../../src/text/batching/stop-text.js';

/** Token i decodes to PIECES[i]; a token list decodes to their concatenation. */
const PIECES = ['Hel', 'lo', ' wor', 'ld', '!', ' E', 'ND', ' more', ' '];
const decode = (ids: number[]): string => ids.map((i) => PIECES[i]!).join('');

function run(tokens: number[], stops: string[]): { deltas: string[]; stoppedAt: number; text: string; tail: string } {
  const text = new StreamedText(decode, [], stops);
  const deltas: string[] = [];
  let stoppedAt = -1;
  for (const [i, t] of tokens.entries()) {
    const { delta, stopped } = text.push(t);
    deltas.push(delta);
    if (stopped) {
      stoppedAt = i;
      break;
    }
  }
  const tail = stoppedAt < 0 ? text.finish() : '';
  return { deltas, stoppedAt, text: text.text, tail };
}

describe('StreamedText', () => {
  test('without stop strings every token shows at once', () => {
    const r = run([0, 1, 2, 3], []);
    assert.deepEqual(r.deltas, ['Hel', 'lo', ' wor', 'ld']);
    assert.equal(r.text, 'Hello world');
  });

  test('a stop string split over tokens ends the text before it; its start was held back, not shown', () => {
    const r = run([0, 1, 2, 3, 4, 5, 6, 7], [' END']);
    assert.equal(r.stoppedAt, 6);
    assert.equal(r.text, 'Hello world!');
    // ' E' could begin ' END': held back, then dropped with the stop string.
    assert.deepEqual(r.deltas, ['Hel', 'lo', ' wor', 'ld', '!', '', '']);
    assert.equal(r.deltas.join(''), r.text);
  });

  test('held-back text that turns out not to be a stop string is released', () => {
    const r = run([0, 5, 7, 8], [' END']);
    assert.equal(r.stoppedAt, -1);
    assert.deepEqual(r.deltas, ['Hel', '', ' E more', '']);
    assert.equal(r.tail, ' ');
    assert.equal(r.text, 'Hel E more ');
  });

  test('the earliest of several stop strings wins, even inside one token', () => {
    const r = run([0, 1, 2, 3], ['wor', 'llo']);
    assert.equal(r.text, 'He');
    assert.equal(r.stoppedAt, 1);
  });

  test('characters cut mid-UTF-8 wait for their last byte', () => {
    const bytes = [...Buffer.from('añb', 'utf8')];
    const byteDecode = (ids: number[]): string => Buffer.from(ids.map((i) => bytes[i]!)).toString('utf8');
    const text = new StreamedText(byteDecode, [], ['b']);
    assert.deepEqual(text.push(0), { delta: 'a', stopped: false });
    assert.deepEqual(text.push(1), { delta: '', stopped: false });
    assert.deepEqual(text.push(2), { delta: 'ñ', stopped: false });
    assert.deepEqual(text.push(3), { delta: '', stopped: true });
    assert.equal(text.text, 'añ');
  });
});
