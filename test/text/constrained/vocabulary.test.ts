import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CharTokenizer, Tokenizer } from '../../../src/text/tokenizer.js';
import { byteLevelDecoder, tokenVocabulary, utf8Class } from '../../../src/text/constrained/vocabulary.js';
import { fixturePath } from '../../helpers/fixtures.js';
import { sentencePieceTokenizer } from './sentencepiece-tokenizer.js';

describe('tokenVocabulary', () => {
  let gpt2: Tokenizer;
  before(async () => {
    gpt2 = await Tokenizer.fromDir(fixturePath('gpt2-tiny'));
  });

  test("GPT-2's byte-level vocabulary: token bytes concatenate to the text's UTF-8", () => {
    const vocab = tokenVocabulary(gpt2);
    assert.equal(vocab.kind, 'byte-level');
    assert.equal(vocab.size, 50257);
    assert.equal(vocab.bytes[gpt2.eosTokenId!], null, 'special tokens have no bytes');
    assert.deepEqual([...vocab.bytes[gpt2.tokenToId('Ġ')!]!], [0x20]);
    assert.deepEqual([...vocab.bytes[gpt2.tokenToId('Ċ')!]!], [0x0a]);
    for (const text of ['{"name": "Zoë", "emoji": "😀", "n": -1.5e3}\n\t  end', 'naïve café 日本語 \u0000 tabs\t\tand  spaces']) {
      const ids = gpt2.encode(text);
      const joined = Buffer.concat(ids.map((id) => vocab.bytes[id]!));
      assert.deepEqual(joined, Buffer.from(text, 'utf8'));
    }
    // Every byte is one token of its own, so no byte can be unreachable.
    const singles = new Set(vocab.bytes.filter((b) => b?.length === 1).map((b) => b![0]));
    assert.equal(singles.size, 256);
    assert.equal(byteLevelDecoder().size, 256);
  });

  test('computed once per tokenizer', () => {
    assert.equal(tokenVocabulary(gpt2), tokenVocabulary(gpt2));
  });

  test('sorted order, shared prefixes and the plain-text tables agree with the bytes', () => {
    const vocab = tokenVocabulary(gpt2);
    assert.equal(vocab.order.length, 50256);
    for (let k = 1; k < vocab.order.length; k += 97) {
      const a = vocab.bytes[vocab.order[k - 1]!]!;
      const b = vocab.bytes[vocab.order[k]!]!;
      assert.ok(Buffer.compare(a, b) < 0);
      const n = vocab.lcp[k]!;
      assert.deepEqual(a.subarray(0, n), b.subarray(0, n));
      assert.ok(n === a.length || n === b.length || a[n] !== b[n]);
    }
    const quote = gpt2.tokenToId('"')!;
    const word = gpt2.tokenToId('Ġhello')!;
    assert.equal(vocab.plain[quote], 0);
    assert.equal(vocab.plain[word], 1);
    assert.ok(vocab.structural.order.includes(quote));
    assert.equal(vocab.utf8Ok[0]![word], 1);
    assert.equal(vocab.utf8Ok[utf8Class(1, 0x80, 0xbf)]![word], 0, 'ASCII cannot finish a two-byte character');
    assert.equal(vocab.codePoints[gpt2.tokenToId('Ġhello')!], 6);
  });

  test('SentencePiece: ▁ is a space, <0xNN> is one byte, <s> and </s> have none', () => {
    const sp = sentencePieceTokenizer();
    const vocab = tokenVocabulary(sp);
    assert.equal(vocab.kind, 'sentencepiece');
    assert.deepEqual([...vocab.bytes[sp.tokenToId('▁{')!]!], [0x20, 0x7b]);
    assert.deepEqual([...vocab.bytes[sp.tokenToId('<0x0A>')!]!], [0x0a]);
    assert.deepEqual([...vocab.bytes[sp.tokenToId('<0xC3>')!]!], [0xc3]);
    assert.deepEqual(Buffer.from(vocab.bytes[sp.tokenToId('é')!]!), Buffer.from('é'));
    for (const special of ['<s>', '</s>', '<unk>']) assert.equal(vocab.bytes[sp.tokenToId(special)!], null);
    const ids = sp.encode('{"a": null}\n', { addSpecialTokens: false });
    assert.deepEqual(Buffer.concat(ids.map((id) => vocab.bytes[id]!)).toString('utf8'), ' {"a": null}\n');
  });

  test('a tokenizer without token strings is decoded id by id', () => {
    const chars = CharTokenizer.fromText('{}":ab 1');
    const vocab = tokenVocabulary(chars);
    assert.equal(vocab.kind, 'decoded');
    assert.deepEqual(vocab.bytes.map((b) => Buffer.from(b!).toString()), [...chars.chars]);
  });
});
