import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CharTokenizer, Tokenizer, parseMerges } from '../../src/text/tokenizer.js';
import { dataPath, fixturePath } from '../helpers/fixtures.js';

interface GoldenTokenizer {
  tokenizer: { text: string; ids: number[] }[];
}

function golden(model: string): GoldenTokenizer {
  return JSON.parse(fs.readFileSync(fixturePath(model, 'golden.json'), 'utf8')) as GoldenTokenizer;
}

function tempDir(): string {
  return fs.mkdtempSync(join(tmpdir(), 'forja-tok-'));
}

const EXTRA_TEXTS = [
  '',
  ' leading space',
  'trailing spaces   ',
  'Hello , world . Don \'t',
  'naïve café — «¿qué?» ñandú',
  '日本語のテキスト and 中文',
  'emoji 👩‍👩‍👧 🇪🇸 🤖🤖',
  'tabs\t\tand\r\nwindows\n\n\nnewlines',
  '<|endoftext|> inside text',
];

for (const model of ['gpt2-tiny', 'llama-tiny']) {
  test(`${model}: golden prompts encode to the exact reference ids and decode back`, async () => {
    const tok = await Tokenizer.fromDir(fixturePath(model));
    for (const { text, ids } of golden(model).tokenizer) {
      assert.deepEqual(tok.encode(text), ids, JSON.stringify(text));
      assert.equal(tok.decode(ids), text);
    }
    for (const text of EXTRA_TEXTS) assert.equal(tok.decode(tok.encode(text)), text, JSON.stringify(text));
    assert.equal(tok.vocabSize, 50257);
    assert.equal(tok.eosTokenId, 50256);
    assert.equal(tok.bosTokenId, 50256);
    assert.equal(tok.padTokenId, undefined);
    assert.equal(tok.eosToken, '<|endoftext|>');
    assert.equal(tok.idToToken(50256), '<|endoftext|>');
    assert.equal(tok.idToToken(995), 'Ġworld');
    assert.equal(tok.tokenToId('Ġworld'), 995);
    assert.equal(tok.chatTemplate, undefined);
  });
}

test('special tokens: matched in text, skipped on request, flagged', async () => {
  const tok = await Tokenizer.fromDir(fixturePath('gpt2-tiny'));
  const ids = tok.encode('hi<|endoftext|>');
  assert.equal(ids.at(-1), 50256);
  assert.equal(tok.decode(ids, { skipSpecialTokens: true }), 'hi');
  assert.equal(tok.decode(ids), 'hi<|endoftext|>');
  assert.ok(tok.isSpecial(50256));
  assert.ok(!tok.isSpecial(995));
  assert.deepEqual(tok.encode('hi', { addSpecialTokens: false }), tok.encode('hi'));
  assert.equal(tok.decode([]), '');
  assert.throws(() => tok.decode([50257]), /cannot decode token id 50257 \(vocabulary has 50257 ids\)/);
  assert.throws(() => tok.decode([1.5]), /cannot decode token id 1\.5/);
});

test('vocab.json + merges.txt only: a byte-level BPE equal to tokenizer.json', async () => {
  const dir = tempDir();
  try {
    for (const f of ['vocab.json', 'merges.txt']) fs.copyFileSync(fixturePath('gpt2-tiny', f), join(dir, f));
    const slow = await Tokenizer.fromDir(dir);
    const fast = await Tokenizer.fromDir(fixturePath('gpt2-tiny'));
    for (const { text, ids } of golden('gpt2-tiny').tokenizer) {
      assert.deepEqual(slow.encode(text), ids, JSON.stringify(text));
      assert.equal(slow.decode(ids), text);
    }
    const texts = [
      ...EXTRA_TEXTS,
      fs.readFileSync(dataPath('quijote', 'quijote.txt'), 'utf8').slice(0, 20_000),
      fs.readFileSync(dataPath('tinyshakespeare', 'input.txt'), 'utf8').slice(0, 20_000),
    ];
    for (const text of texts) {
      const ids = slow.encode(text);
      assert.deepEqual(ids, fast.encode(text));
      assert.equal(slow.decode(ids), text);
    }
    // GPT-2 defaults for the special tokens.
    assert.equal(slow.eosTokenId, 50256);
    assert.equal(slow.bosTokenId, 50256);
    assert.equal(slow.unkTokenId, 50256);
    assert.equal(slow.vocabSize, 50257);
    assert.ok(slow.isSpecial(50256));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('parseMerges: version line, CRLF, and a clear error for a bad line', () => {
  assert.deepEqual(parseMerges('#version: 0.2\r\nĠ t\r\nh e\n'), [['Ġ', 't'], ['h', 'e']]);
  assert.deepEqual(parseMerges('a b\n'), [['a', 'b']]);
  assert.throws(() => parseMerges('#version: 0.2\na b c\n', '/x/merges.txt'), /\/x\/merges\.txt:2: expected "left right", got "a b c"/);
});

test('bert-tiny-embed (WordPiece with [CLS]/[SEP]) matches the golden input_ids', async () => {
  const tok = await Tokenizer.fromDir(fixturePath('bert-tiny-embed'));
  const g = JSON.parse(fs.readFileSync(fixturePath('bert-tiny-embed', 'golden.json'), 'utf8')) as {
    sentences: string[];
    input_ids: number[][];
    attention_mask: number[][];
  };
  g.sentences.forEach((s, i) => {
    const n = g.attention_mask[i]!.reduce((a, b) => a + b, 0);
    assert.deepEqual(tok.encode(s), g.input_ids[i]!.slice(0, n), JSON.stringify(s));
  });
  assert.equal(tok.padTokenId, 0);
  assert.equal(tok.unkToken, '[UNK]');
});

test('chat templates come from tokenizer_config.json, chat_template.jinja wins', async () => {
  const dir = tempDir();
  try {
    fs.copyFileSync(fixturePath('gpt2-tiny', 'tokenizer.json'), join(dir, 'tokenizer.json'));
    const config = JSON.parse(fs.readFileSync(fixturePath('gpt2-tiny', 'tokenizer_config.json'), 'utf8')) as Record<string, unknown>;
    config.chat_template = '{% for m in messages %}{{ m.role }}: {{ m.content }}{{ eos_token }}{% endfor %}';
    config.pad_token = { content: '<|endoftext|>', special: true, __type: 'AddedToken' };
    fs.writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify(config));
    let tok = await Tokenizer.fromDir(dir);
    assert.equal(tok.padTokenId, 50256, 'AddedToken dicts are understood');
    assert.equal(tok.applyChatTemplate([{ role: 'user', content: 'hi' }]), 'user: hi<|endoftext|>');
    fs.writeFileSync(join(dir, 'chat_template.jinja'), '{{ bos_token }}{{ messages[0].content }}');
    tok = await Tokenizer.fromDir(dir);
    assert.equal(tok.applyChatTemplate([{ role: 'user', content: 'hi' }]), '<|endoftext|>hi');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const plain = await Tokenizer.fromDir(fixturePath('gpt2-tiny'));
  assert.throws(() => plain.applyChatTemplate([{ role: 'user', content: 'x' }]), /tokenizer\.json: this tokenizer has no chat template/);
});

test('a directory without tokenizer files is a clear error', async () => {
  await assert.rejects(Tokenizer.fromDir(fixturePath('clip-tiny')), (err: Error) => {
    assert.equal(err.message, `${fixturePath('clip-tiny')}: no tokenizer: expected tokenizer.json, or vocab.json + merges.txt`);
    return true;
  });
});

test('CharTokenizer on tinyshakespeare: the classic 65-char vocabulary', () => {
  const text = fs.readFileSync(dataPath('tinyshakespeare', 'input.txt'), 'utf8');
  const tok = CharTokenizer.fromText(text);
  assert.equal(tok.vocabSize, 65);
  assert.equal(tok.chars.join(''), "\n !$&',-.3:;?ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz");
  assert.deepEqual(tok.encode('hii there'), [46, 47, 47, 1, 58, 46, 43, 56, 43]);
  assert.equal(tok.decode(tok.encode('hii there')), 'hii there');
  const chunk = text.slice(0, 5000);
  assert.equal(tok.decode(tok.encode(chunk)), chunk);
  assert.throws(() => tok.encode('héllo'), /CharTokenizer: character "é" \(U\+00E9\) at offset 1 is not in the vocabulary/);
  assert.throws(() => tok.decode([65]), /token id 65 out of range \(vocabulary has 65 ids\)/);
  assert.equal(tok.eosTokenId, undefined);
});

test('CharTokenizer: code-point order, astral characters, JSON round trip', () => {
  const tok = CharTokenizer.fromText('b😀a\uFFFDé');
  // Sorted by code point, as Python's sorted(set(text)): U+FFFD before U+1F600.
  assert.deepEqual(tok.chars, ['a', 'b', 'é', '\uFFFD', '😀']);
  assert.deepEqual(tok.encode('😀a'), [4, 0]);
  const again = CharTokenizer.fromJSON(JSON.parse(JSON.stringify(tok)));
  assert.deepEqual(again.chars, tok.chars);
  assert.throws(() => new CharTokenizer(['a', 'a']), /character "a" appears twice \(ids 0 and 1\)/);
  assert.throws(() => new CharTokenizer(['ab']), /entry 0 must be a single character/);
  assert.throws(() => CharTokenizer.fromJSON({ nope: 1 }), /expected \{type: "forja-char-tokenizer", chars\} or a WordLevel tokenizer\.json/);
});

test('CharTokenizer saves a real WordLevel tokenizer.json that Tokenizer.fromDir encodes identically', async () => {
  const dir = tempDir();
  try {
    const text = fs.readFileSync(dataPath('quijote', 'quijote.txt'), 'utf8').slice(0, 30_000) + ' 😀\t\r\n';
    const tok = CharTokenizer.fromText(text);
    await tok.save(dir);
    const json = JSON.parse(fs.readFileSync(join(dir, 'tokenizer.json'), 'utf8')) as { model: { type: string } };
    assert.equal(json.model.type, 'WordLevel');
    const hf = await Tokenizer.fromDir(dir);
    assert.equal(hf.vocabSize, tok.vocabSize);
    const sample = text.slice(1000, 6000) + ' 😀\t\r\n';
    const ids = tok.encode(sample);
    assert.deepEqual(hf.encode(sample), ids);
    assert.equal(hf.decode(ids), sample);
    assert.throws(() => hf.encode('\u0001'), /not in the vocabulary and there is no unk token/);
    const loaded = await CharTokenizer.load(dir);
    assert.deepEqual(loaded.chars, tok.chars);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
