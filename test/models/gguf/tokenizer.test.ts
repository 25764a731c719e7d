/**
 * The tokenizer a GGUF file embeds, through @huggingface/tokenizers: GPT-2's
 * byte-level BPE from llama-tiny's vocabulary and merges must give the
 * fixture's golden ids; Llama 3's pre-tokenizer splits digits in threes; a
 * SentencePiece ("llama") vocabulary gets merges from its scores and byte
 * fallback.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { GgufMetadataError } from '../../../src/io/gguf/errors.js';
import { GgufMetadata } from '../../../src/io/gguf/metadata.js';
import { readGgufHeader } from '../../../src/io/gguf/reader.js';
import { loadGgufTokenizer } from '../../../src/models/gguf/load.js';
import { ggufGenerationConfig, ggufTokenizerSource, sentencePieceMerges } from '../../../src/models/gguf/tokenizer.js';
import { Tokenizer } from '../../../src/text/tokenizer.js';
import { fixturePath } from '../../helpers/fixtures.js';
import { arr, bool, str, u32, writeGguf, type MetaValue } from '../../helpers/gguf-writer.js';

const FIXTURE = fixturePath('llama-tiny');

describe('GGUF tokenizers', () => {
  const dir = mkdtempSync(join(tmpdir(), 'forja-gguf-tok-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const tj = JSON.parse(readFileSync(join(FIXTURE, 'tokenizer.json'), 'utf8')) as { model: { vocab: Record<string, number>; merges: [string, string][] } };
  const tokens: string[] = [];
  for (const [t, id] of Object.entries(tj.model.vocab)) tokens[id] = t;
  const types = tokens.map((_, i) => (i === 50256 ? 3 : 1));
  const gpt2Meta = (extra: Record<string, MetaValue> = {}): Record<string, MetaValue> => ({
    'tokenizer.ggml.model': str('gpt2'),
    'tokenizer.ggml.pre': str('gpt-2'),
    'tokenizer.ggml.tokens': arr('string', tokens),
    'tokenizer.ggml.token_type': arr('i32', types),
    'tokenizer.ggml.merges': arr('string', tj.model.merges.map((m) => m.join(' '))),
    'tokenizer.ggml.bos_token_id': u32(50256),
    'tokenizer.ggml.eos_token_id': u32(50256),
    ...extra,
  });
  const file = (name: string, meta: Record<string, MetaValue>) => {
    const p = join(dir, name);
    writeGguf(p, meta, []);
    return p;
  };

  test("GPT-2's byte-level BPE gives the golden ids and decodes back", async () => {
    const golden = (JSON.parse(readFileSync(join(FIXTURE, 'golden.json'), 'utf8')) as { tokenizer: { text: string; ids: number[] }[] }).tokenizer;
    const tok = await loadGgufTokenizer(file('gpt2.gguf', gpt2Meta()));
    const hf = await Tokenizer.fromDir(FIXTURE);
    for (const { text, ids } of golden) {
      assert.deepEqual(tok.encode(text), ids);
      assert.equal(tok.decode(ids), text);
    }
    const extra = 'Special <|endoftext|> and  \u00a0 mixed\r\n digits 007';
    assert.deepEqual(tok.encode(extra), hf.encode(extra));
    assert.equal(tok.eosTokenId, 50256);
    assert.equal(tok.vocabSize, 50257);
  });

  test("Llama 3's pre-tokenizer splits digits in threes and add_bos_token prepends BOS", async () => {
    const tok = await loadGgufTokenizer(file('llama3.gguf', gpt2Meta({ 'tokenizer.ggml.pre': str('llama-bpe'), 'tokenizer.ggml.add_bos_token': bool(true) })));
    const pieces = (t: Tokenizer, text: string) => t.encode(text, { addSpecialTokens: false }).map((id) => t.decode([id]));
    assert.equal(tok.encode('12345')[0], 50256);
    assert.deepEqual(pieces(tok, '1234567'), ['123', '456', '7']);
    const gpt2 = await loadGgufTokenizer(file('gpt2-digits.gguf', gpt2Meta()));
    assert.notDeepEqual(pieces(gpt2, '1234567'), ['123', '456', '7'], "GPT-2's regex keeps the digits together");
  });

  test('an unknown tokenizer model or pre-tokenizer is refused by key', async () => {
    const bad = async (name: string, meta: Record<string, MetaValue>) => ggufTokenizerSource(new GgufMetadata(await readGgufHeader(file(name, meta))));
    await assert.rejects(bad('bert.gguf', gpt2Meta({ 'tokenizer.ggml.model': str('bert') })), (e: unknown) => e instanceof GgufMetadataError && e.key === 'tokenizer.ggml.model');
    await assert.rejects(bad('pre.gguf', gpt2Meta({ 'tokenizer.ggml.pre': str('falcon') })), (e: unknown) => e instanceof GgufMetadataError && e.key === 'tokenizer.ggml.pre' && /"falcon" is not supported/.test(e.message));
  });

  test('SentencePiece: merges from scores, byte fallback, BOS, and the generation config', async () => {
    const words = ['▁', 'h', 'e', 'l', 'o', 'w', 'r', 'd', '▁h', 'll', '▁he', 'llo', '▁hello', '▁w', 'or', '▁wor', 'ld', '▁world'];
    const spTokens = ['<unk>', '<s>', '</s>', ...Array.from({ length: 256 }, (_, b) => `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`), ...words];
    const scores = spTokens.map((_, i) => (i < 259 ? 0 : -(i - 259)));
    const spTypes = spTokens.map((_, i) => (i === 0 ? 2 : i < 3 ? 3 : i < 259 ? 6 : 1));
    const path = file('spm.gguf', {
      'tokenizer.ggml.model': str('llama'),
      'tokenizer.ggml.tokens': arr('string', spTokens),
      'tokenizer.ggml.scores': arr('f32', scores),
      'tokenizer.ggml.token_type': arr('i32', spTypes),
      'tokenizer.ggml.bos_token_id': u32(1),
      'tokenizer.ggml.eos_token_id': u32(2),
      'tokenizer.ggml.unknown_token_id': u32(0),
    });
    const tok = await loadGgufTokenizer(path);
    const id = (t: string) => spTokens.indexOf(t);
    assert.deepEqual(tok.encode('hello world'), [1, id('▁hello'), id('▁world')]);
    assert.deepEqual(tok.encode('hé', { addSpecialTokens: false }), [id('▁h'), id('<0xC3>'), id('<0xA9>')]);
    assert.equal(tok.decode(tok.encode('hello world hé'), { skipSpecialTokens: true }), 'hello world hé');
    assert.deepEqual(ggufGenerationConfig(new GgufMetadata(await readGgufHeader(path))), { bos_token_id: 1, eos_token_id: 2 });
    // The first merge is the best-scored piece's only split.
    assert.deepEqual(sentencePieceMerges(spTokens, scores)[0], ['▁', 'h']);
  });
});
