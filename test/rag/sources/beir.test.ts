import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { beirDocument, beirItems } from '../../../src/rag/sources/beir.js';
import { SourceSkipError, type SkippedSource } from '../../../src/rag/sources/types.js';

const dir = mkdtempSync(join(tmpdir(), 'forja-beir-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('a corpus line is a document: the title, a blank line, the text; the title is its heading', () => {
  const line = '{"_id": "d1", "title": "  A Title ", "text": "Body text.", "metadata": {}}';
  const doc = beirDocument('/c/corpus.jsonl', 1, line);
  assert.ok(!(doc instanceof SourceSkipError));
  assert.equal(doc.id, 'd1');
  assert.equal(doc.path, '/c/corpus.jsonl');
  assert.equal(doc.title, 'A Title');
  assert.equal(doc.text, 'A Title\n\nBody text.');
  assert.deepEqual(doc.headings, [{ level: 1, title: 'A Title', start: 0, end: 7 }]);
  assert.equal(doc.hash, createHash('sha256').update(line).digest('hex'));
  assert.equal(doc.format, 'beir');
});

test('no title: the text alone, no heading; a numeric _id becomes a string', () => {
  const doc = beirDocument('c.jsonl', 3, '{"_id": 42, "title": "", "text": "Only text."}');
  assert.ok(!(doc instanceof SourceSkipError));
  assert.equal(doc.id, '42');
  assert.equal(doc.text, 'Only text.');
  assert.deepEqual(doc.headings, []);
  assert.equal(doc.title, undefined);
});

test('bad lines are reported with file and line, and reading goes on', async () => {
  const path = join(dir, 'corpus.jsonl');
  const lines = [
    '{"_id": "a", "title": "T", "text": "one"}',
    '',
    '{not json',
    '{"title": "no id", "text": "x"}',
    '["an", "array"]',
    '{"_id": "b", "title": 7, "text": "x"}',
    '{"_id": "c", "title": "", "text": "   "}',
    '{"_id": "d", "text": "last"}',
  ];
  writeFileSync(path, Buffer.concat([Buffer.from(lines.join('\n') + '\n'), Buffer.from([0xff, 0xfe, 0x0a]), Buffer.from('{"_id": "e", "text": "after the bad bytes"}')]));
  const skipped: SkippedSource[] = [];
  const ids: string[] = [];
  for await (const item of beirItems(path, (e) => skipped.push(e.skipped))) {
    ids.push(item.id);
    assert.equal((await item.load()).id, item.id);
  }
  assert.deepEqual(ids, ['a', 'd', 'e']);
  assert.deepEqual(
    skipped.map((s) => [s.line, s.reason]),
    [[3, 'bad-line'], [4, 'bad-line'], [5, 'bad-line'], [6, 'bad-line'], [7, 'empty'], [9, 'bad-line']],
  );
  assert.ok(skipped.every((s) => s.path === path));
  assert.match(skipped[0]!.message, /^not JSON/);
  assert.match(skipped[1]!.message, /_id/);
  assert.match(skipped[3]!.message, /"title" is a number/);
  assert.equal(skipped[5]!.message, 'not UTF-8');
});

test('an unreadable corpus is one unreadable report', async () => {
  const skipped: SkippedSource[] = [];
  for await (const _ of beirItems(dir, (e) => skipped.push(e.skipped))) assert.fail('a folder has no lines');
  assert.equal(skipped.length, 1);
  assert.equal(skipped[0]!.reason, 'unreadable');
  assert.equal(skipped[0]!.path, dir);
});
