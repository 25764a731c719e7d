import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { chunkText } from '../../src/rag/chunk/splitter.js';
import { SourceUnreadableError, StoreMismatchError } from '../../src/rag/errors.js';
import { ingest, IngestSettingsError, type Analyzer, type IngestProgress } from '../../src/rag/ingest.js';
import { ANALYZER } from '../../src/rag/lexical/analyzer.js';
import { readDocuments } from '../../src/rag/sources/index.js';
import type { EmbeddingRole, TextEmbedder } from '../../src/text/embedder.js';
import { MemoryStore, SimulatedCrash } from '../helpers/memory-store.js';
import { pdfBytes } from '../helpers/pdf-bytes.js';

const tmp = mkdtempSync(join(tmpdir(), 'forja-ingest-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
let folders = 0;

/** A fresh folder of sources: five readable documents, one encrypted PDF and one binary file. */
function folder(): string {
  const dir = join(tmp, `docs${folders++}`);
  mkdirSync(join(dir, 'sub'), { recursive: true });
  writeFileSync(join(dir, 'a.txt'), 'Alpha apples. '.repeat(30));
  writeFileSync(join(dir, 'b.md'), '# Bees\n\nBees make honey.\n\n## Hives\n\nHives hold bees.\n');
  writeFileSync(join(dir, 'c.html'), '<h1>Cats</h1><p>Cats sleep a lot.</p>');
  writeFileSync(join(dir, 'sub/d.pdf'), pdfBytes([['Dogs bark.'], ['Dogs run.']]));
  writeFileSync(join(dir, 'sub/e.txt'), 'Eels swim.');
  writeFileSync(join(dir, 'sub/locked.pdf'), pdfBytes([['x']], { encrypted: true }));
  writeFileSync(join(dir, 'f.bin'), new Uint8Array([1, 2, 0, 3]));
  return dir;
}

const words: Analyzer = {
  name: 'test-words',
  termFrequencies(text) {
    const tf = new Map<string, number>();
    for (const w of text.toLowerCase().match(/[a-z]+/g) ?? []) tf.set(w, (tf.get(w) ?? 0) + 1);
    return tf;
  },
};

class FakeEmbedder implements TextEmbedder {
  readonly calls: { size: number; role?: EmbeddingRole }[] = [];
  constructor(
    readonly modelId = 'fake/embedder',
    readonly dimension = 4,
    readonly maxTokens = 512,
  ) {}
  // Three characters a token, so chunks are measured differently from words.
  countTokens(text: string): number {
    return Math.ceil(text.replace(/\s+/g, '').length / 3);
  }
  async embed(texts: readonly string[], role?: EmbeddingRole): Promise<Float32Array[]> {
    this.calls.push({ size: texts.length, role });
    return texts.map((t) => Float32Array.from([t.length, t.split(' ').length, 1, this.dimension]));
  }
}

test('ingest writes every readable document, chunked as chunkText chunks it, and reports the rest', async () => {
  const dir = folder();
  const store = new MemoryStore();
  const progress: IngestProgress[] = [];
  const skippedLive: string[] = [];
  const summary = await ingest(store, dir, { chunkSize: 16, overlap: 4, batchSize: 2, analyzer: words, onProgress: (p) => progress.push(p), onSkip: (s) => skippedLive.push(s.reason) });
  assert.deepEqual([summary.added, summary.updated, summary.unchanged, summary.deleted], [5, 0, 0, 0]);
  assert.deepEqual(summary.skipped.map((s) => [s.path, s.reason]), [[join(dir, 'f.bin'), 'binary'], [join(dir, 'sub/locked.pdf'), 'encrypted']]);
  assert.deepEqual(skippedLive, ['binary', 'encrypted']);
  assert.deepEqual(store.writes, [['a.txt', 'b.md'], ['c.html', 'sub/d.pdf'], ['sub/e.txt']]);
  const info = await store.info();
  assert.deepEqual([info.analyzer, info.chunkSize, info.overlap, info.embedModel, info.documents], ['test-words', 16, 4, undefined, 5]);

  const expected = [];
  for await (const doc of readDocuments([dir])) {
    for (const c of chunkText(doc, { chunkSize: 16, overlap: 4 })) expected.push({ docId: doc.id, path: doc.path, title: doc.title, ordinal: c.ordinal, text: c.text, start: c.start, end: c.end, page: c.page, headings: c.headings });
  }
  assert.deepEqual(store.dump().map(({ id: _, ...rest }) => rest), expected);
  assert.equal(summary.chunks, expected.length);
  const pdfChunks = store.dump().filter((c) => c.docId === 'sub/d.pdf');
  assert.deepEqual(pdfChunks.map((c) => c.page), [1]);
  // b.md fits one chunk, under its first heading only: "Hives" does not hold all of it.
  assert.deepEqual(store.dump().filter((c) => c.docId === 'b.md').map((c) => c.headings), [['Bees']]);

  const stats = await store.lexicalStats(['apples', 'honey']);
  assert.equal(stats.postings.get('honey')!.chunkIds.length, 1);
  assert.equal(stats.postings.get('apples')!.tfs.reduce((n, tf) => n + tf, 0) >= 30, true);

  const last = progress[progress.length - 1]!;
  assert.deepEqual([last.done, last.total, last.chunks, last.skipped], [7, 7, expected.length, 2]);
  for (let i = 1; i < progress.length; i++) assert.ok(progress[i]!.done >= progress[i - 1]!.done && progress[i]!.chunks >= progress[i - 1]!.chunks);
  assert.ok(progress.every((p) => p.docsPerSecond >= 0 && p.done <= p.total));
  assert.ok(summary.seconds > 0);
});

test('re-ingesting unchanged sources writes nothing; a changed file replaces its chunks', async () => {
  const dir = folder();
  const store = new MemoryStore();
  await ingest(store, dir, { analyzer: words });
  const writes = store.writes.length;
  const again = await ingest(store, dir, { analyzer: words });
  assert.deepEqual([again.added, again.updated, again.unchanged, again.chunks], [0, 0, 5, 0]);
  assert.equal(store.writes.length, writes);

  writeFileSync(join(dir, 'sub/e.txt'), 'Electric eels shock.');
  const changed = await ingest(store, dir, { analyzer: words });
  assert.deepEqual([changed.added, changed.updated, changed.unchanged], [0, 1, 4]);
  assert.deepEqual(store.dump().filter((c) => c.docId === 'sub/e.txt').map((c) => c.text), ['Electric eels shock.']);
  assert.equal((await store.lexicalStats(['swim'])).postings.size, 0);
});

test('sync deletes the documents of an ingested folder that are gone, and nothing else', async () => {
  const dir = folder();
  const other = folder();
  const store = new MemoryStore();
  await ingest(store, [dir], { analyzer: words });
  // Documents of another folder (ids d.pdf, e.txt) are outside dir's scope, so a sync of dir keeps them.
  await ingest(store, [join(other, 'sub')], { analyzer: words });
  unlinkSync(join(dir, 'a.txt'));
  const kept = await ingest(store, dir, { analyzer: words });
  assert.equal(kept.deleted, 0);
  assert.ok((await store.documents()).some((d) => d.id === 'a.txt'));
  // A file that is still there but now skipped keeps its document.
  writeFileSync(join(dir, 'sub/e.txt'), new Uint8Array([0, 1, 2]));
  const synced = await ingest(store, dir, { analyzer: words, sync: true });
  assert.equal(synced.deleted, 1);
  assert.ok(synced.skipped.some((s) => s.path === join(dir, 'sub/e.txt') && s.reason === 'binary'));
  const ids = (await store.documents()).map((d) => d.id).sort();
  assert.deepEqual(ids, ['b.md', 'c.html', 'd.pdf', 'e.txt', 'sub/d.pdf', 'sub/e.txt']);
});

test('a crash in the second batch keeps the first, rolls back the second, and a re-run resumes to the same store', async () => {
  const dir = folder();
  const clean = new MemoryStore();
  await ingest(clean, dir, { analyzer: words, batchSize: 2 });

  const store = new MemoryStore({ crash: { onWrite: 2, afterDocuments: 1 } });
  await assert.rejects(ingest(store, dir, { analyzer: words, batchSize: 2 }), SimulatedCrash);
  assert.deepEqual((await store.documents()).map((d) => d.id), ['a.txt', 'b.md']);
  assert.deepEqual(new Set(store.dump().map((c) => c.docId)), new Set(['a.txt', 'b.md']));

  store.crash = undefined;
  const resumed = await ingest(store, dir, { analyzer: words, batchSize: 2 });
  assert.deepEqual([resumed.added, resumed.unchanged], [3, 2]);
  const strip = (s: MemoryStore) => s.dump().map(({ id: _, ...rest }) => rest);
  assert.deepEqual(strip(store), strip(clean));
  assert.deepEqual(await store.documents(), await clean.documents());
});

test('an embedder adds passage vectors in batches, measures the chunks, and is bound to the store', async () => {
  const dir = folder();
  const store = new MemoryStore();
  const embedder = new FakeEmbedder();
  const summary = await ingest(store, dir, { embedder, chunkSize: 20, overlap: 5, embedBatchSize: 3, analyzer: words });
  assert.ok(embedder.calls.every((c) => c.role === 'passage' && c.size >= 1 && c.size <= 3));
  assert.equal(embedder.calls.reduce((n, c) => n + c.size, 0), summary.chunks);
  const chunks = store.dump();
  const vectors = await store.vectors(chunks.map((c) => c.id));
  assert.equal(vectors.size, chunks.length);
  for (const c of chunks) {
    assert.deepEqual([...vectors.get(c.id)!], [c.text.length, c.text.split(' ').length, 1, 4]);
    assert.ok(embedder.countTokens(c.text) <= 20, `${embedder.countTokens(c.text)} tokens in ${c.text}`);
  }
  const info = await store.info();
  assert.deepEqual([info.embedModel, info.dimension, info.chunkSize, info.overlap], ['fake/embedder', 4, 20, 5]);

  await assert.rejects(ingest(store, dir, { analyzer: words }), (e: unknown) => e instanceof StoreMismatchError && e.setting === 'embedModel' && e.stored === 'fake/embedder');
  await assert.rejects(ingest(store, dir, { analyzer: words, embedder: new FakeEmbedder('other/model', 4) }), (e: unknown) => e instanceof StoreMismatchError && e.requested === 'other/model');
  await assert.rejects(ingest(store, dir, { analyzer: words, embedder, chunkSize: 30 }), (e: unknown) => e instanceof StoreMismatchError && e.setting === 'chunkSize' && e.stored === 20);
  // Left unset, chunking follows the store.
  const again = await ingest(store, dir, { analyzer: words, embedder });
  assert.equal(again.unchanged, 5);
});

test('the default analyzer is the store analyzer forja-en-1', async () => {
  const dir = folder();
  const store = new MemoryStore();
  await ingest(store, join(dir, 'b.md'));
  assert.equal((await store.info()).analyzer, ANALYZER);
  // Porter stems "bees" and "hives" as the analyzer does.
  assert.ok((await store.lexicalStats(['bee', 'hive'])).postings.size === 2);
  await assert.rejects(ingest(store, join(dir, 'b.md'), { analyzer: words }), (e: unknown) => e instanceof StoreMismatchError && e.setting === 'analyzer');
});

test('a BEIR corpus: one document per line, synced by its own path', async () => {
  const path = join(tmp, 'corpus.jsonl');
  const line = (id: string, text: string) => JSON.stringify({ _id: id, title: `Title ${id}`, text });
  writeFileSync(path, [line('1', 'one'), line('2', 'two'), '{bad', line('3', 'three')].join('\n') + '\n');
  const store = new MemoryStore();
  const first = await ingest(store, path, { analyzer: words });
  assert.deepEqual([first.added, first.skipped.map((s) => [s.line, s.reason])], [3, [[3, 'bad-line']]]);
  assert.deepEqual(store.dump().map((c) => [c.docId, c.text, c.headings]), [
    ['1', 'Title 1\n\none', ['Title 1']],
    ['2', 'Title 2\n\ntwo', ['Title 2']],
    ['3', 'Title 3\n\nthree', ['Title 3']],
  ]);
  writeFileSync(path, [line('1', 'one'), line('3', 'three, changed')].join('\n') + '\n');
  const second = await ingest(store, path, { analyzer: words, sync: true });
  assert.deepEqual([second.added, second.updated, second.unchanged, second.deleted], [0, 1, 1, 1]);
  assert.deepEqual((await store.documents()).map((d) => d.id).sort(), ['1', '3']);
});

test('an abort stops between documents; what was written stays and a re-run resumes', async () => {
  const dir = folder();
  const store = new MemoryStore();
  const controller = new AbortController();
  const run = ingest(store, dir, { analyzer: words, batchSize: 2, signal: controller.signal, onProgress: (p) => p.chunks > 0 && controller.abort() });
  await assert.rejects(run, (e: unknown) => (e as Error).name === 'AbortError');
  assert.deepEqual((await store.documents()).map((d) => d.id), ['a.txt', 'b.md']);
  const resumed = await ingest(store, dir, { analyzer: words, batchSize: 2 });
  assert.deepEqual([resumed.added, resumed.unchanged], [3, 2]);
});

test('bad settings and a missing path are refused before the store is touched', async () => {
  const dir = folder();
  const store = new MemoryStore();
  const refused = async (options: Parameters<typeof ingest>[2], setting: string) => {
    await assert.rejects(ingest(store, dir, options), (e: unknown) => e instanceof IngestSettingsError && e.setting === setting);
  };
  await refused({ chunkSize: 0 }, 'chunkSize');
  await refused({ chunkSize: 8, overlap: 8 }, 'overlap');
  await refused({ batchSize: 0 }, 'batchSize');
  await refused({ embedder: new FakeEmbedder('m', 4, 128), chunkSize: 256 }, 'chunkSize');
  await assert.rejects(ingest(store, [dir, join(dir, 'missing')]), (e: unknown) => e instanceof SourceUnreadableError && /missing/.test(e.path));
  assert.deepEqual(await store.documents(), []);
  assert.equal((await store.info()).analyzer, '');
});
