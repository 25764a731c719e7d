import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IGNORE_INDEX } from '../../../src/data/finetune/batching.js';
import { BadRecordError, FinetuneDataError } from '../../../src/data/finetune/problems.js';
import { loadFinetuneData, type FileSummary } from '../../../src/text/finetune/dataset.js';
import { Tokenizer } from '../../../src/text/tokenizer.js';
import { fixturePath } from '../../helpers/fixtures.js';

const M = IGNORE_INDEX;
const nums = (a: ArrayLike<number | bigint>): number[] => Array.from(a, Number);
const jsonl = (...lines: unknown[]): string => lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n') + '\n';

let dir: string;
let gpt2: Tokenizer;
let chatml: Tokenizer;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'forja-ft-data-'));
  gpt2 = await Tokenizer.fromDir(fixturePath('gpt2-tiny'));
  chatml = await Tokenizer.fromDir(fixturePath('chat-template'));
});
after(() => rm(dir, { recursive: true, force: true }));

async function file(name: string, text: string | Buffer): Promise<string> {
  const p = join(dir, name);
  await mkdir(join(p, '..'), { recursive: true });
  await writeFile(p, text);
  return p;
}

const chat = (user: string, assistant: string) => ({ messages: [{ role: 'user', content: user }, { role: 'assistant', content: assistant }] });
const MIXED = jsonl(
  { prompt: 'Q: capital of Spain?\nA:', completion: ' Madrid' }, // 1
  { text: 'Plain text to learn.' }, // 2
  '{"prompt": "unterminated', // 3 invalid JSON
  '', // 4 blank: not a record
  chat('Hi', 'Hello! How can I help?'), // 5
  { messages: [{ role: 'user', content: 'Hi' }, { role: 'bot', content: 'beep' }] }, // 6 unknown role
  { prompt: 'Q', completion: 7 }, // 7 wrong type
  { messages: [{ role: 'user', content: 'Hi' }, { role: 'assistant', content: '   ' }] }, // 8 empty content
  { question: 'x' }, // 9 unknown format
);

describe('a JSONL with good and bad lines', () => {
  test('lenient: bad lines are counted by reason with file:line; the good ones train', async () => {
    const p = await file('mixed.jsonl', MIXED);
    const seen: FileSummary[] = [];
    const d = await loadFinetuneData(p, chatml, { maxLength: 64, onFile: (f) => seen.push(f) });
    const s = d.summary;
    assert.equal(s.recordsRead, 8);
    assert.equal(s.kept, 3);
    assert.equal(s.skipped.total, 5);
    assert.deepEqual(s.skipped.byReason, { 'invalid-json': 1, 'unknown-role': 1, 'wrong-type': 1, 'empty-content': 1, 'unknown-format': 1 });
    assert.deepEqual(s.skipped.first.map((q) => [q.line, q.reason]), [[3, 'invalid-json'], [6, 'unknown-role'], [7, 'wrong-type'], [8, 'empty-content'], [9, 'unknown-format']]);
    assert.ok(s.skipped.first.every((q) => q.file === p));
    assert.equal(s.skipped.first[1]!.message, 'unknown role "bot" in messages[1] (expected system, user, assistant, tool)');
    assert.deepEqual(s.formats, { 'prompt-completion': 1, text: 1, chat: 1 });
    assert.equal(s.assistantMask, 'prefix-render');
    assert.deepEqual(s.files, [{ path: p, kind: 'jsonl', records: 8, kept: 3, skipped: 5 }]);
    assert.deepEqual(seen, s.files);
    assert.equal(d.train.size, 3);
    assert.equal(d.validation.size, 0);
    // Token counts agree with what the batches feed.
    const b = d.train.batch([0, 1, 2]);
    assert.equal(b.tokens, s.tokens);
    assert.equal(b.supervisedTokens, s.supervisedTokens);
    assert.equal(s.train.supervisedTokens, s.supervisedTokens);
  });

  test('strict: the first bad line throws, naming file:line', async () => {
    const p = await file('strict.jsonl', MIXED);
    await assert.rejects(loadFinetuneData(p, chatml, { maxLength: 64, strict: true }), (e: unknown) => {
      assert.ok(e instanceof BadRecordError);
      assert.equal(e.file, p);
      assert.equal(e.line, 3);
      assert.equal(e.reason, 'invalid-json');
      assert.match(e.message, new RegExp(`^${p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:3: not valid JSON`));
      return true;
    });
    const roles = await file('roles.jsonl', jsonl(chat('a', 'b'), { messages: [{ role: 'user', content: 'Hi' }, { role: 'robot', content: 'x' }] }));
    await assert.rejects(loadFinetuneData(roles, chatml, { maxLength: 64, strict: true }), /roles\.jsonl:2: unknown role "robot" in messages\[1\]/);
  });

  test('a line that is not UTF-8 is skipped with its number', async () => {
    const p = await file('bytes.jsonl', Buffer.concat([Buffer.from(jsonl({ text: 'ok' })), Buffer.from([0x7b, 0xc3, 0x28, 0x7d, 0x0a])]));
    const d = await loadFinetuneData(p, gpt2, { maxLength: 16 });
    assert.deepEqual(d.summary.skipped.first.map((q) => [q.line, q.reason]), [[2, 'invalid-utf8']]);
  });
});

describe('refusals', () => {
  test('every label masked: prompts as long as maxLength', async () => {
    const long = 'word '.repeat(40);
    const p = await file('masked/long-prompts.jsonl', jsonl({ prompt: long, completion: ' yes' }, { prompt: long + 'again', completion: ' no' }));
    await assert.rejects(loadFinetuneData(p, gpt2, { maxLength: 16 }), (e: unknown) => {
      assert.ok(e instanceof FinetuneDataError);
      assert.equal(e.reason, 'all-masked');
      assert.deepEqual(e.files, [p]);
      assert.match(e.message, /every label is masked in .*long-prompts\.jsonl: 2 of 2 records have no completion or assistant token within maxLength \(16\) tokens/);
      const n = gpt2.encode(long + ' yes').length + 1; // with EOS
      assert.match(e.message, new RegExp(`long-prompts\\.jsonl:1: the first 16 of its ${n} tokens`));
      return true;
    });
    // Strict mode stops at the first such record.
    await assert.rejects(loadFinetuneData(p, gpt2, { maxLength: 16, strict: true }), (e: unknown) => e instanceof BadRecordError && e.line === 1 && e.reason === 'no-supervised-tokens');
    // Longer rows leave room for the completion.
    const d = await loadFinetuneData(p, gpt2, { maxLength: 64 });
    assert.equal(d.summary.kept, 2);
  });

  test('all records bad, no records, a JSON array, chat without a template', async () => {
    const bad = await file('refuse/bad.jsonl', jsonl('nope', { text: '' }));
    await assert.rejects(loadFinetuneData(bad, gpt2, { maxLength: 16 }), (e: unknown) => e instanceof FinetuneDataError && e.reason === 'no-data' && /every one of the 2 records was skipped \(1 invalid-json, 1 empty-content\); first: .*bad\.jsonl:1: not valid JSON/.test(e.message));
    const empty = await file('refuse/empty.jsonl', '\n\n');
    await assert.rejects(loadFinetuneData(empty, gpt2, { maxLength: 16 }), (e: unknown) => e instanceof FinetuneDataError && e.reason === 'no-data' && /no records in .*empty\.jsonl/.test(e.message));
    const array = await file('refuse/alpaca.json', '[\n  {"text": "a"}\n]\n');
    await assert.rejects(loadFinetuneData(array, gpt2, { maxLength: 16 }), /alpaca\.json:1: the file holds a JSON array; write one JSON object per line/);
    const chats = await file('refuse/chat.jsonl', jsonl(chat('a', 'b')));
    await assert.rejects(loadFinetuneData(chats, gpt2, { maxLength: 16 }), (e: unknown) => e instanceof FinetuneDataError && e.reason === 'tokenizer' && /chat\.jsonl:1: a chat record, but the tokenizer has no chat template/.test(e.message));
    await assert.rejects(loadFinetuneData(chats, gpt2, { maxLength: 1 }), (e: unknown) => e instanceof FinetuneDataError && e.option === 'maxLength');
  });
});

describe('text files', () => {
  test('documents joined with EOS and cut into blocks; an empty file is skipped', async () => {
    const a = 'En un lugar de la Mancha, de cuyo nombre no quiero acordarme.';
    const b = '# Notes\nNo ha mucho tiempo que vivía un hidalgo.';
    await file('books/a.txt', a);
    await file('books/sub/b.md', b);
    await file('books/c.txt', '  \n');
    const d = await loadFinetuneData(join(dir, 'books'), gpt2, { maxLength: 8, padTo: 'longest' });
    const stream = [...gpt2.encode(a), 50256, ...gpt2.encode(b), 50256];
    const s = d.summary;
    assert.equal(s.recordsRead, 3);
    assert.equal(s.kept, 2);
    assert.deepEqual(s.skipped.byReason, { 'empty-content': 1 });
    assert.equal(s.skipped.first[0]!.line, undefined);
    assert.deepEqual(s.formats, { 'text-file': 2 });
    assert.equal(s.truncated, 0);
    const blocks = Math.floor(stream.length / 8) + (stream.length % 8 >= 2 ? 1 : 0);
    assert.equal(d.train.size, blocks);
    const kept = stream.slice(0, stream.length % 8 >= 2 ? stream.length : stream.length - (stream.length % 8));
    assert.equal(s.tokens, kept.length);
    // Reading the rows in order gives back the stream.
    const back = d.train.rows.flatMap((r) => nums(r.inputIds));
    assert.deepEqual(back, kept);
    // Where b starts inside a block, positions restart and the first token of b is not predicted from a.
    const bStart = gpt2.encode(a).length + 1;
    const row = d.train.rows[Math.floor(bStart / 8)]!;
    const at = bStart % 8;
    assert.ok(at > 0, 'these texts put the start of b inside a block');
    assert.deepEqual(nums(row.segmentStarts), [0, at]);
    assert.equal(row.labels[at], M);
    const pb = d.train.batch([Math.floor(bStart / 8)]);
    assert.equal(pb.positionIds[at], 0n);
    assert.equal(pb.segmentIds[at], 2);
  });
});

describe('batches', () => {
  const records = Array.from({ length: 30 }, (_, i) => ({ prompt: `Question ${i}:`, completion: ` answer ${'x '.repeat(i % 7)}${i}` }));

  test('padding: one row per record, right padded to maxLength with pad = eos', async () => {
    const p = await file('qa/qa.jsonl', jsonl(...records));
    assert.equal(gpt2.padTokenId, undefined);
    const d = await loadFinetuneData(p, gpt2, { maxLength: 24 });
    assert.equal(d.padTokenId, 50256);
    const b = d.train.batch([0, 1]);
    assert.equal(b.seqLength, 24);
    for (let r = 0; r < 2; r++) {
      const len = d.train.rows[r]!.inputIds.length;
      const mask = nums(b.attentionMask.subarray(r * 24, (r + 1) * 24));
      assert.deepEqual(mask, Array.from({ length: 24 }, (_, t) => (t < len ? 1 : 0)));
      assert.ok(nums(b.inputIds.subarray(r * 24 + len, (r + 1) * 24)).every((v) => v === 50256));
      assert.ok(nums(b.labels.subarray(r * 24 + len, (r + 1) * 24)).every((v) => v === M));
    }
    const own = await loadFinetuneData(p, gpt2, { maxLength: 24, padTokenId: 0, padTo: 'longest', padToMultipleOf: 8 });
    const ob = own.train.batch([0]);
    assert.equal(ob.seqLength, 8);
    assert.equal(ob.inputIds[7], 0n);
  });

  test('packing: fewer, fuller rows with the same supervised tokens; positions restart per record', async () => {
    const p = await file('qa/qa.jsonl', jsonl(...records));
    const padded = await loadFinetuneData(p, gpt2, { maxLength: 32 });
    const packed = await loadFinetuneData(p, gpt2, { maxLength: 32, packing: true });
    assert.ok(packed.train.size < padded.train.size / 2, `${packed.train.size} packed rows for ${padded.train.size} records`);
    assert.equal(packed.summary.supervisedTokens, padded.summary.supervisedTokens);
    assert.equal(packed.summary.tokens, padded.summary.tokens);
    assert.equal(packed.summary.train.examples, 30);
    const b = packed.train.batch([0]);
    assert.equal(b.packed, true);
    const seg = nums(b.segmentIds);
    const pos = nums(b.positionIds);
    for (let t = 0; t < 32; t++) {
      if (seg[t] === 0) continue;
      const first = t === 0 || seg[t - 1] !== seg[t];
      assert.equal(pos[t], first ? 0 : pos[t - 1]! + 1, `position ${t}`);
      if (first) assert.equal(b.labels[t], BigInt(M));
    }
  });

  test('batches cover every row once, in an order seeded by (seed, epoch)', async () => {
    const p = await file('qa/qa.jsonl', jsonl(...records));
    const d = await loadFinetuneData(p, gpt2, { maxLength: 32, padTo: 'longest' });
    const firstIds = (epoch: number, seed = 0): number[] => [...d.train.batches(4, { epoch, seed })].flatMap((b) => Array.from({ length: b.batchSize }, (_, r) => Number(b.inputIds[r * b.seqLength + 1])));
    const e0 = firstIds(0);
    assert.equal(e0.length, 30);
    assert.deepEqual(e0, firstIds(0));
    assert.notDeepEqual(e0, firstIds(1));
    assert.notDeepEqual(e0, firstIds(0, 5));
    assert.deepEqual([...e0].sort(), d.train.rows.map((r) => r.inputIds[1]!).sort());
    assert.equal([...d.train.batches(4, { dropRemainder: true })].length, 7);
    assert.equal(d.train.batchCount(4), 8);
  });

  test('the split is reproducible from the seed and holds out whole records', async () => {
    const p = await file('qa/qa.jsonl', jsonl(...records));
    const text = (rows: readonly { inputIds: Int32Array }[]): string[] => rows.map((r) => gpt2.decode(nums(r.inputIds)));
    const a = await loadFinetuneData(p, gpt2, { maxLength: 32, validation: 0.2, seed: 3 });
    const b = await loadFinetuneData(p, gpt2, { maxLength: 32, validation: 0.2, seed: 3 });
    const c = await loadFinetuneData(p, gpt2, { maxLength: 32, validation: 0.2, seed: 4 });
    assert.equal(a.validation.size, 6);
    assert.equal(a.train.size, 24);
    assert.deepEqual(text(a.validation.rows), text(b.validation.rows));
    assert.notDeepEqual(text(a.validation.rows), text(c.validation.rows));
    const all = new Set([...text(a.train.rows), ...text(a.validation.rows)]);
    assert.equal(all.size, 30);
    assert.deepEqual(a.summary.validation, a.validation.summary());
    assert.equal(a.summary.validation.examples, 6);
    const counted = await loadFinetuneData(p, gpt2, { maxLength: 32, validation: 5, seed: 3 });
    assert.equal(counted.validation.size, 5);
  });

  test('records longer than maxLength are truncated from the end and counted', async () => {
    const p = await file('long/long.jsonl', jsonl({ prompt: 'Tell:', completion: ' a b c d e f g h i j k l m n o p' }, { prompt: 'Q', completion: ' short' }));
    const d = await loadFinetuneData(p, gpt2, { maxLength: 8 });
    assert.equal(d.summary.truncated, 1);
    const row = d.train.rows.find((r) => r.inputIds.length === 8)!;
    assert.deepEqual(nums(row.inputIds), gpt2.encode('Tell: a b c d e f g').slice(0, 8));
  });
});
