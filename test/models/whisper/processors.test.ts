import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { timestampRules } from '../../../src/models/whisper/processors.js';
import { whisperTokens } from '../../../src/models/whisper/tokens.js';

const t = whisperTokens({ vocabSize: 51865, decoderStartTokenId: 50258, eosTokenId: 50257 });
const TS = t.timestampBegin;
const PROMPT = [50258, 50259, 50359];
const EOT = 50257;

/** Scores favouring `best`, others small and distinct. */
function scores(best: number[] = [], value = 5): Float32Array {
  const s = Float32Array.from({ length: 51865 }, (_, i) => -((i * 7919) % 1000) / 1000);
  for (const b of best) s[b] = value;
  return s;
}
const allowed = (s: Float32Array, from: number, to: number): boolean => s.subarray(from, to).some((v) => v > -Infinity);
const banned = (s: Float32Array, from: number, to: number): boolean => s.subarray(from, to).every((v) => v === -Infinity);

describe('models/whisper/processors', () => {
  it('the first token is a timestamp (or the end), no later than max_initial_timestamp_index', () => {
    // The end is likely enough here that the timestamps' total does not outweigh it.
    const s = scores([EOT], 20);
    timestampRules({ tokens: t, beginIndex: 3, maxInitialTimestampIndex: 50 })(PROMPT, s);
    assert.ok(banned(s, 0, EOT), 'no text first');
    assert.ok(s[EOT]! > -Infinity);
    assert.ok(allowed(s, TS, TS + 51) && banned(s, TS + 51, 51865), 'timestamps up to 1.00 s');
    assert.equal(s[t.noTimestamps], -Infinity);
  });

  it('after a lone timestamp: another timestamp, not earlier (or the end); after a pair: text', () => {
    const afterOpen = scores([440]);
    timestampRules({ tokens: t, beginIndex: 3 })([...PROMPT, TS + 10, 440, TS + 40], afterOpen);
    assert.ok(banned(afterOpen, 0, EOT), 'a segment end must be followed by a timestamp');
    assert.ok(banned(afterOpen, TS, TS + 40) && allowed(afterOpen, TS + 40, 51865), 'the next start may equal the end, not precede it');
    const afterPair = scores([TS + 60]);
    timestampRules({ tokens: t, beginIndex: 3 })([...PROMPT, TS + 10, 440, TS + 40, TS + 40], afterPair);
    assert.ok(banned(afterPair, TS, 51865), 'no third timestamp in a row');
    assert.ok(allowed(afterPair, 0, EOT));
  });

  it('inside a segment, timestamps never go back and repeating the start is not allowed', () => {
    const s = scores([440], 20);
    timestampRules({ tokens: t, beginIndex: 3 })([...PROMPT, TS + 10, 440], s);
    assert.ok(banned(s, TS, TS + 11) && allowed(s, TS + 11, 51865));
    assert.ok(allowed(s, 0, EOT), 'text is fine here');
  });

  it('when the timestamps together outweigh every text token, a timestamp is forced', () => {
    // 1000 timestamps at 0 beat the best text token at 3 in total probability (log 1000 ≈ 6.9 > 3).
    const s = new Float32Array(51865).fill(-Infinity);
    s[440] = 3;
    s.fill(0, TS, TS + 1000);
    timestampRules({ tokens: t, beginIndex: 3 })([...PROMPT, TS, 441], s);
    assert.ok(banned(s, 0, TS));
    const text = new Float32Array(51865).fill(-Infinity);
    text[440] = 9;
    text.fill(0, TS, TS + 1000);
    timestampRules({ tokens: t, beginIndex: 3 })([...PROMPT, TS, 441], text);
    assert.equal(text[440], 9);
  });
});
