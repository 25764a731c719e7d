import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { splitWindow } from '../../../src/models/whisper/segments.js';
import { whisperTokens } from '../../../src/models/whisper/tokens.js';

const t = whisperTokens({ vocabSize: 51865, decoderStartTokenId: 50258, eosTokenId: 50257 });
const at = (seconds: number): number => t.timestampBegin + Math.round(seconds / 0.02);
const close = (a: number, b: number): boolean => Math.abs(a - b) < 1e-9;

describe('models/whisper/segments', () => {
  it('pairs of timestamps close segments; the next window starts after the last complete one', () => {
    const { segments, consumed } = splitWindow([at(0), 10, 11, at(2.5), at(2.5), 12, at(4), at(4.2), 13], t, 30);
    assert.deepEqual(segments.map((s) => s.tokens), [[10, 11], [12]]);
    assert.ok(close(segments[0]!.start, 0) && close(segments[0]!.end, 2.5) && close(segments[1]!.start, 2.5) && close(segments[1]!.end, 4));
    // "13" was cut by the window edge (no closing timestamp): it is decoded again from 4 s.
    assert.ok(close(consumed, 4));
  });

  it('a final lone timestamp closes the last segment and consumes the whole window', () => {
    const { segments, consumed } = splitWindow([at(0), 10, at(1), at(1), 11, at(3)], t, 30);
    assert.deepEqual(segments.map((s) => [s.start, s.end, s.tokens]), [[0, 1, [10]], [1, 3, [11]]]);
    assert.equal(consumed, 30);
  });

  it('no pair: one segment to the last timestamp; no timestamps at all: the whole window', () => {
    const one = splitWindow([at(0.5), 10, 11, at(2)], t, 30);
    assert.deepEqual(one.segments.map((s) => [s.start, s.end, s.tokens]), [[0.5, 2, [10, 11]]]);
    assert.equal(one.consumed, 30);
    const plain = splitWindow([10, 11], t, 12.5);
    assert.deepEqual(plain.segments.map((s) => [s.start, s.end]), [[0, 12.5]]);
  });

  it('times are clamped to the real audio of a short last window; a window always moves on', () => {
    const clamped = splitWindow([at(0), 10, at(9), at(9), 11, at(20), at(20)], t, 5);
    assert.deepEqual(clamped.segments.map((s) => [s.start, s.end]), [[0, 5], [5, 5]]);
    const stuck = splitWindow([at(0), at(0), 10], t, 30);
    assert.equal(stuck.consumed, 30, 'a last segment end at 0.00 would never advance');
    assert.deepEqual(splitWindow([], t, 30), { segments: [], consumed: 30 });
  });
});
