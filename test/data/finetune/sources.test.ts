import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listSources, readLines, readTextDocument, type SourceLine } from '../../../src/data/finetune/sources.js';
import { FinetuneDataError } from '../../../src/data/finetune/problems.js';

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'forja-ft-sources-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function lines(path: string): Promise<SourceLine[]> {
  const out: SourceLine[] = [];
  for await (const l of readLines(path)) out.push(l);
  return out;
}

test('folders are walked recursively in sorted order, skipping hidden and non-data files', () =>
  withDir(async (dir) => {
    await mkdir(join(dir, 'b'));
    await mkdir(join(dir, '.git'));
    await writeFile(join(dir, 'b', 'z.md'), '# z');
    await writeFile(join(dir, 'b', 'a.jsonl'), '{}');
    await writeFile(join(dir, 'a.txt'), 'a');
    await writeFile(join(dir, 'config.json'), '{}');
    await writeFile(join(dir, '.git', 'x.txt'), 'x');
    await writeFile(join(dir, 'c.NDJSON'), '{}');
    const got = await listSources(dir);
    assert.deepEqual(
      got.map((s) => [s.path.slice(dir.length + 1), s.kind]),
      [['a.txt', 'text'], ['b/a.jsonl', 'jsonl'], ['b/z.md', 'text'], ['c.NDJSON', 'jsonl']],
    );
    // A file named on its own: .json is read as JSONL; a file given twice is listed once.
    const explicit = await listSources([join(dir, 'config.json'), join(dir, 'a.txt'), dir]);
    assert.equal(explicit[0]!.kind, 'jsonl');
    assert.equal(explicit.length, 5);
  }));

test('missing paths, other file kinds and folders without data are refused by name', () =>
  withDir(async (dir) => {
    await writeFile(join(dir, 'model.safetensors'), '');
    await mkdir(join(dir, 'empty'));
    await assert.rejects(listSources(join(dir, 'nope.jsonl')), (e: unknown) => e instanceof FinetuneDataError && e.reason === 'unreadable' && /nope\.jsonl: no such file or folder/.test(e.message));
    await assert.rejects(listSources(join(dir, 'model.safetensors')), /model\.safetensors: not a data file \(expected \.txt, \.md/);
    await assert.rejects(listSources(join(dir, 'empty')), (e: unknown) => e instanceof FinetuneDataError && e.reason === 'no-data' && /holds no data files/.test(e.message));
    await assert.rejects(listSources([]), /no data files or folders were given/);
  }));

test('lines are numbered from 1 across chunk boundaries, with CRLF, a BOM and no final newline', () =>
  withDir(async (dir) => {
    const long = 'x'.repeat(200_000); // longer than one read chunk
    const p = join(dir, 'd.jsonl');
    await writeFile(p, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(`first\r\n${long}\n\nlast`)]));
    const got = await lines(p);
    assert.deepEqual(got.map((l) => l.line), [1, 2, 3, 4]);
    assert.deepEqual(got.map((l) => ('text' in l ? l.text.length : -1)), [5, 200_000, 0, 4]);
    assert.equal('text' in got[0]! && got[0].text, 'first');
  }));

test('a line that is not UTF-8 is reported by number; its neighbours are read', () =>
  withDir(async (dir) => {
    const p = join(dir, 'd.jsonl');
    await writeFile(p, Buffer.concat([Buffer.from('ok\n'), Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), Buffer.from('\nño\n')]));
    const got = await lines(p);
    assert.deepEqual(got, [{ line: 1, text: 'ok' }, { line: 2, invalidUtf8: true }, { line: 3, text: 'ño' }]);
  }));

test('a text document is read whole; invalid UTF-8 gives undefined', () =>
  withDir(async (dir) => {
    await writeFile(join(dir, 'a.txt'), Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('En un lugar\nde la Mancha')]));
    await writeFile(join(dir, 'b.txt'), Buffer.from([0x61, 0xc3]));
    assert.equal(await readTextDocument(join(dir, 'a.txt')), 'En un lugar\nde la Mancha');
    assert.equal(await readTextDocument(join(dir, 'b.txt')), undefined);
    await assert.rejects(readTextDocument(join(dir, 'none.txt')), /none\.txt: cannot read/);
  }));
