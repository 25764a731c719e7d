import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { SourceUnreadableError } from '../../../src/rag/errors.js';
import { inScope, planSources, readDocuments, type SkippedSource, type SourceDocument } from '../../../src/rag/sources/index.js';
import { pdfBytes } from '../../helpers/pdf-bytes.js';

const root = mkdtempSync(join(tmpdir(), 'forja-sources-'));
after(() => rmSync(root, { recursive: true, force: true }));

function put(rel: string, content: string | Uint8Array): string {
  const path = join(root, rel);
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, content);
  return path;
}

const docs = join(root, 'docs');
put('docs/a.txt', 'Plain text.\n');
put('docs/guide/intro.md', '# Intro\n\nSome *markdown*.\n\n## Part\n\nMore.\n');
put('docs/guide/page.html', '<html><head><title>Page</title></head><body><h1>Hello</h1><p>World.</p></body></html>');
const pdf = pdfBytes([['Page one.'], ['Page two.']]);
put('docs/paper.pdf', pdf);
put('docs/locked.pdf', pdfBytes([['secret']], { encrypted: true }));
put('docs/broken.pdf', '%PDF-1.4\ngarbage');
put('docs/image.png', new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]));
put('docs/latin1.txt', new Uint8Array([0x63, 0x61, 0x66, 0xe9, 0x0a]));
put('docs/late.txt', Buffer.concat([Buffer.alloc(9000, 0x61), Buffer.from([0xff])]));
put('docs/notes.rst', 'Title\n=====\n');
put('docs/empty.md', '  \n\n');
put('docs/.hidden.txt', 'hidden');
put('docs/.git/config', '[core]');
put('docs/beir/corpus.jsonl', '{"_id": "b1", "title": "T1", "text": "x"}\n\n{"_id": "b2", "title": "T2", "text": "y"}\n');
put('docs/beir/queries.jsonl', '{"_id": "q1", "text": "question"}\n');
symlinkSync(docs, join(docs, 'loop'));

async function readAll(paths: string[]): Promise<{ docs: SourceDocument[]; skipped: SkippedSource[] }> {
  const skipped: SkippedSource[] = [];
  const out: SourceDocument[] = [];
  for await (const d of readDocuments(paths, (s) => skipped.push(s))) out.push(d);
  return { docs: out, skipped };
}

test('planSources walks a folder in sorted order, skipping hidden files, ids relative to the folder', async () => {
  const plan = await planSources([docs]);
  assert.deepEqual(
    plan.files.map((f) => [f.id, f.format ?? null]),
    [
      ['a.txt', 'text'],
      ['beir/corpus.jsonl', 'beir'],
      ['beir/queries.jsonl', null],
      ['broken.pdf', 'pdf'],
      ['empty.md', 'markdown'],
      ['guide/intro.md', 'markdown'],
      ['guide/page.html', 'html'],
      ['image.png', 'image'],
      ['late.txt', 'text'],
      ['latin1.txt', 'text'],
      ['locked.pdf', 'pdf'],
      ['notes.rst', null],
      ['paper.pdf', 'pdf'],
    ],
  );
  assert.ok(plan.files.every((f) => f.path === join(docs, ...f.id.split('/'))));
  // One per file, the corpus counted by its two non-blank lines.
  assert.equal(plan.total, 14);
  assert.deepEqual(plan.scopes, [{ folder: docs }, { corpus: join(docs, 'beir/corpus.jsonl') }]);
});

test('readDocuments extracts every format and reports every file it skips, with its reason', async () => {
  const { docs: found, skipped } = await readAll([docs]);
  assert.deepEqual(found.map((d) => [d.id, d.format]), [
    ['a.txt', 'text'],
    ['b1', 'beir'],
    ['b2', 'beir'],
    ['guide/intro.md', 'markdown'],
    ['guide/page.html', 'html'],
    ['paper.pdf', 'pdf'],
  ]);
  const byId = new Map(found.map((d) => [d.id, d]));
  const md = byId.get('guide/intro.md')!;
  assert.equal(md.title, 'Intro');
  assert.deepEqual(md.headings.map((h) => h.title), ['Intro', 'Part']);
  assert.equal(byId.get('guide/page.html')!.title, 'Page');
  assert.equal(byId.get('guide/page.html')!.text, '# Hello\n\nWorld.');
  const paper = byId.get('paper.pdf')!;
  assert.equal(paper.text, 'Page one.\n\nPage two.');
  assert.deepEqual(paper.pages, [{ page: 1, start: 0, end: 9 }, { page: 2, start: 11, end: 20 }]);
  assert.equal(paper.hash, createHash('sha256').update(pdf).digest('hex'));
  assert.equal(paper.path, join(docs, 'paper.pdf'));
  assert.equal(byId.get('b1')!.path, join(docs, 'beir/corpus.jsonl'));
  assert.deepEqual(
    skipped.map((s) => [s.path.slice(docs.length + 1), s.reason]),
    [
      ['beir/queries.jsonl', 'unsupported'],
      ['broken.pdf', 'broken-pdf'],
      ['empty.md', 'empty'],
      ['image.png', 'broken-image'],
      ['late.txt', 'invalid-utf8'],
      ['latin1.txt', 'binary'],
      ['locked.pdf', 'encrypted'],
      ['notes.rst', 'unsupported'],
    ],
  );
  assert.ok(skipped.every((s) => s.message.length > 0 && !s.message.includes(docs)), 'messages leave the path to the report');
});

test('a named file gets its name as id, a named .jsonl is read as a BEIR corpus, and a file named twice is read once', async () => {
  const corpus = put('other/mine.jsonl', '{"_id": "m1", "text": "z"}\n');
  const plan = await planSources([join(docs, 'a.txt'), corpus, join(docs, 'a.txt')]);
  assert.deepEqual(plan.files.map((f) => [f.id, f.format]), [['a.txt', 'text'], ['mine.jsonl', 'beir']]);
  const { docs: found } = await readAll([join(docs, 'a.txt'), corpus]);
  assert.deepEqual(found.map((d) => d.id), ['a.txt', 'm1']);
});

test('the same id from two places is read once, the second reported as duplicate-id', async () => {
  const other = join(root, 'second');
  put('second/a.txt', 'Another a.\n');
  const { docs: found, skipped } = await readAll([join(docs, 'a.txt'), other]);
  assert.deepEqual(found.map((d) => d.path), [join(docs, 'a.txt')]);
  assert.deepEqual(skipped.map((s) => [s.path, s.reason]), [[join(other, 'a.txt'), 'duplicate-id']]);
  assert.match(skipped[0]!.message, new RegExp(`already taken by ${join(docs, 'a.txt')}`));
});

test('a path that does not exist throws before anything is read', async () => {
  const missing = join(root, 'nope');
  const err = await planSources([docs, missing]).catch((e: unknown) => e);
  assert.ok(err instanceof SourceUnreadableError);
  assert.equal(err.path, missing);
  assert.match(err.message, /no such file or folder/);
});

test('inScope: a folder holds the paths below it, a corpus only its own path', () => {
  assert.ok(inScope({ folder: '/a/b' }, '/a/b/c.txt'));
  assert.ok(inScope({ folder: '/a/b' }, '/a/b/d/e.txt'));
  assert.ok(!inScope({ folder: '/a/b' }, '/a/bc/d.txt'));
  assert.ok(!inScope({ folder: '/a/b' }, '/a/b'));
  assert.ok(inScope({ corpus: '/a/corpus.jsonl' }, '/a/corpus.jsonl'));
  assert.ok(!inScope({ corpus: '/a/corpus.jsonl' }, '/a/corpus.jsonl/x'));
});
