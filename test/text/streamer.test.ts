import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Rng } from '../../src/core/rng.js';
import { AsyncChannel, IncrementalDetokenizer } from '../../src/text/streamer.js';

/** Byte-level ids (0-255): a cut multi-byte character decodes as U+FFFD, as in byte-level BPE. */
const bytes = (ids: number[]) => new TextDecoder().decode(Uint8Array.from(ids));
const utf8 = (s: string) => [...new TextEncoder().encode(s)];

describe('IncrementalDetokenizer', () => {
  test('holds a multi-byte character back until its last byte arrives', () => {
    const d = new IncrementalDetokenizer(bytes);
    const pieces = utf8('é😀!').map((b) => d.push([b]));
    // é is 2 bytes, 😀 is 4: text appears only when a character is complete.
    assert.deepEqual(pieces, ['', 'é', '', '', '', '😀', '!']);
    assert.equal(d.flush(), '');
  });

  test('the pieces add up to the decoded text, however the tokens are grouped', () => {
    const text = 'Añejo 🌶️ and naïve café — 東京!';
    const ids = utf8(text);
    const rng = new Rng(2);
    for (let trial = 0; trial < 20; trial++) {
      const d = new IncrementalDetokenizer(bytes);
      let out = '';
      for (let i = 0; i < ids.length; ) {
        const n = 1 + rng.int(3);
        const piece = d.push(ids.slice(i, i + n));
        assert.ok(!piece.includes('\uFFFD'), `trial ${trial}: no partial character is emitted`);
        out += piece;
        i += n;
      }
      assert.equal(out + d.flush(), text);
    }
  });

  test('a character cut off at the end is flushed as U+FFFD', () => {
    const d = new IncrementalDetokenizer(bytes);
    assert.equal(d.push(utf8('a')), 'a');
    assert.equal(d.push(utf8('😀').slice(0, 2)), '');
    assert.equal(d.flush(), '\uFFFD');
    assert.equal(d.flush(), '', 'nothing is flushed twice');
  });

  test('context tokens are not emitted, and give mid-sequence tokens their leading space (SentencePiece)', () => {
    // SentencePiece drops the space of the first piece it decodes.
    const PIECES = ['▁Hello', '▁world', '!'];
    const sp = (ids: number[]) => ids.map((i) => PIECES[i]).join('').replace(/▁/g, ' ').replace(/^ /, '');
    assert.equal(sp([1]), 'world', 'decoded alone, the space is lost');
    const d = new IncrementalDetokenizer(sp, [0]);
    assert.deepEqual([d.push([1]), d.push([2])], [' world', '!']);
    const noContext = new IncrementalDetokenizer(sp);
    assert.deepEqual([noContext.push([0]), noContext.push([1])], ['Hello', ' world']);
  });
});

describe('AsyncChannel', () => {
  test('items pushed before and while the consumer waits arrive in order; close ends the loop', async () => {
    const ch = new AsyncChannel<number>();
    ch.push(1);
    setTimeout(() => {
      ch.push(2);
      ch.push(3);
      ch.close();
    }, 5);
    const seen: number[] = [];
    for await (const x of ch) seen.push(x);
    assert.deepEqual(seen, [1, 2, 3]);
  });

  test('close with an error: the queued items first, then the error', async () => {
    const ch = new AsyncChannel<string>();
    ch.push('a');
    ch.push('b');
    ch.close(new Error('model failed'));
    const seen: string[] = [];
    await assert.rejects(
      (async () => {
        for await (const x of ch) seen.push(x);
      })(),
      /model failed/,
    );
    assert.deepEqual(seen, ['a', 'b']);
  });

  test('a consumer waiting on an empty channel is woken by close', async () => {
    const ch = new AsyncChannel<number>();
    const done = (async () => {
      const seen: number[] = [];
      for await (const x of ch) seen.push(x);
      return seen;
    })();
    await new Promise((r) => setTimeout(r, 5));
    ch.close();
    assert.deepEqual(await done, []);
  });
});
