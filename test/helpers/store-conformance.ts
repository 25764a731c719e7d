/**
 * The behaviour every Store backend must share, as node:test cases registered by `storeConformance`.
 * It uses only the Store interface: each case asks `create` for a new, empty store and closes it.
 * Expected results come from the reference model in ./store-reference.ts (exact BM25 statistics and
 * exact cosine top-k), so SQLite and PostgreSQL are held to the same answers.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { StoreMismatchError } from '../../src/rag/errors.js';
import type { ChunkFilter, DocumentInput, Store, StoreSettings } from '../../src/rag/store/types.js';
import {
  assertSearchExact, assertStatsEqual, DENSE, DIM, EVERY, expectedStats, keyedStats, keysById, LEXICAL, makeDoc,
  type Matcher, Model, randomDoc, randomVector, rng, snapshot,
} from './store-reference.js';

export { DENSE, DIM, EVERY, LEXICAL, makeDoc, postingList, randomVector, rng } from './store-reference.js';

export interface ConformanceOptions {
  /** Closes `store` and opens the same location again; enables the persistence case. */
  reopen?: (store: Store) => Promise<Store>;
}

/** A corpus for filter cases: paths at several depths, paged and unpaged chunks. */
function filterCorpus(r: () => number): DocumentInput[] {
  return [
    makeDoc('a', 'docs/a.md', [{ words: ['w1', 'w2'] }, { words: ['w2', 'w3'] }], r),
    makeDoc('b', 'docs/b.md', [{ words: ['w1', 'w1'], page: 1 }, { words: ['w3'], page: 2 }, { words: ['w2'], page: 3 }], r),
    makeDoc('ab', 'docs/ab.md', [{ words: ['w2'] }], r),
    makeDoc('c', 'docs/sub/c.md', [{ words: ['w1', 'w3'], page: 2 }], r),
    makeDoc('d', 'docs/sub/deep/d.txt', [{ words: ['w2', 'w2', 'w2'], page: 4 }], r),
    makeDoc('e', 'notes/e.txt', [{ words: ['w1'] }, { words: ['w3'], page: 1 }], r),
  ];
}

const byDocs = (...ids: string[]): Matcher => (doc) => ids.includes(doc.id);
const byPages = (from = 1, to = Infinity): Matcher => (_, c) => c.page !== undefined && c.page >= from && c.page <= to;

/** Each filter with the chunks it must select, written out from the glob and page rules. */
const FILTER_CASES: { filter: ChunkFilter; match: Matcher }[] = [
  { filter: { pathGlob: 'docs/*.md' }, match: byDocs('a', 'b', 'ab') },
  { filter: { pathGlob: 'docs/?.md' }, match: byDocs('a', 'b') },
  { filter: { pathGlob: 'docs/**/*.md' }, match: byDocs('a', 'b', 'ab', 'c') },
  { filter: { pathGlob: 'docs/**' }, match: byDocs('a', 'b', 'ab', 'c', 'd') },
  { filter: { pathGlob: '**/*.txt' }, match: byDocs('d', 'e') },
  { filter: { pathGlob: '*.txt' }, match: byDocs() },
  { filter: { pathGlob: 'docs/[ab].md' }, match: byDocs('a', 'b') },
  { filter: { pathGlob: 'notes/e.txt' }, match: byDocs('e') },
  { filter: { docIds: ['b', 'e', 'missing'] }, match: byDocs('b', 'e') },
  { filter: { docIds: [] }, match: byDocs() },
  { filter: { pages: {} }, match: byPages() },
  { filter: { pages: { from: 2 } }, match: byPages(2) },
  { filter: { pages: { to: 1 } }, match: byPages(1, 1) },
  { filter: { pages: { from: 2, to: 3 } }, match: byPages(2, 3) },
  {
    filter: { pathGlob: 'docs/**', docIds: ['b', 'c', 'e'], pages: { from: 2 } },
    match: (d, c) => byDocs('b', 'c')(d, c) && byPages(2)(d, c),
  },
];

/** documents() promises no order. */
async function sortedDocuments(store: Store) {
  return (await store.documents()).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

export function storeConformance(name: string, create: () => Promise<Store>, options: ConformanceOptions = {}): void {
  async function withStore(fn: (store: Store) => Promise<Store | void>): Promise<void> {
    let store = await create();
    try {
      store = (await fn(store)) ?? store;
    } finally {
      await store.close();
    }
  }

  describe(`Store conformance: ${name}`, () => {
    test('an empty store answers with nothing', () =>
      withStore(async (store) => {
        await store.bind(DENSE);
        const info = await store.info();
        assert.equal(info.location, store.location);
        assert.deepEqual({ ...info, location: undefined }, { ...DENSE, location: undefined, documents: 0, chunks: 0 });
        assert.deepEqual(await store.documents(), []);
        assert.deepEqual(await store.lexicalStats([EVERY, 'w1']), { chunkCount: 0, averageLength: 0, postings: new Map() });
        assert.deepEqual(await store.vectorSearch(randomVector(rng(1)), 5), []);
        assert.deepEqual(await store.chunks([1, 2, 3]), []);
        assert.equal((await store.vectors([1, 2, 3])).size, 0);
        // Empty batches are no-ops.
        await store.writeDocuments([]);
        await store.deleteDocuments([]);
        assert.equal((await store.info()).documents, 0);
      }));

    test('an unbound store has no analyzer and refuses writes', () =>
      withStore(async (store) => {
        const info = await store.info();
        assert.equal(info.analyzer, '');
        assert.equal(info.embedModel, undefined);
        await assert.rejects(store.writeDocuments([makeDoc('a', 'a.txt', [{ words: ['w1'] }])]), /bind/);
        assert.equal((await store.info()).documents, 0);
      }));

    test('bind records the settings and refuses different ones, naming both', () =>
      withStore(async (store) => {
        await store.bind(DENSE);
        await store.bind(DENSE);
        // Settings left undefined are not compared: a BM25-only query may open a dense store.
        await store.bind({ analyzer: DENSE.analyzer });
        const cases: [keyof StoreSettings, string | number][] = [
          ['analyzer', 'other-analyzer'],
          ['embedModel', 'other-model'],
          ['dimension', DIM * 2],
          ['chunkSize', 256],
          ['overlap', 0],
        ];
        for (const [setting, requested] of cases) {
          await assert.rejects(store.bind({ ...DENSE, [setting]: requested }), (e: unknown) => {
            assert.ok(e instanceof StoreMismatchError, `${setting}: ${String(e)}`);
            assert.equal(e.setting, setting);
            assert.equal(e.stored, DENSE[setting]);
            assert.equal(e.requested, requested);
            assert.ok(e.message.includes(String(DENSE[setting])) && e.message.includes(String(requested)), e.message);
            return true;
          });
        }
        const info = await store.info();
        assert.deepEqual({ ...info, location: undefined, documents: undefined, chunks: undefined }, { ...DENSE, location: undefined, documents: undefined, chunks: undefined });
        await assert.rejects(store.bind({ analyzer: '' }), /analyzer/);
        await assert.rejects(store.bind({ ...DENSE, dimension: 0 }), /dimension/);
      }));

    test('a missing setting is recorded while the store is empty, and refused once it holds chunks', () =>
      withStore(async (store) => {
        await store.bind(LEXICAL);
        await store.bind({ ...LEXICAL, chunkSize: 64 });
        assert.equal((await store.info()).chunkSize, 64);
        await store.writeDocuments([makeDoc('a', 'a.txt', [{ words: ['w1'] }])]);
        await assert.rejects(store.bind(DENSE), (e: unknown) => {
          assert.ok(e instanceof StoreMismatchError);
          assert.equal(e.setting, 'embedModel');
          assert.equal(e.stored, 'none');
          assert.equal(e.requested, DENSE.embedModel);
          return true;
        });
        assert.equal((await store.info()).embedModel, undefined);
      }));

    test('written documents and chunks round-trip', () =>
      withStore(async (store) => {
        await store.bind(DENSE);
        const r = rng(2);
        const docs = [
          makeDoc('b', 'folder/b.md', [{ words: ['w1', 'w2', 'w1'], headings: ['Intro', 'Scope'] }, { words: ['w3'] }], r, { title: 'B' }),
          makeDoc('a', 'a.pdf', [{ words: ['w2'], page: 3 }], r),
        ];
        await store.writeDocuments(docs);
        assert.deepEqual(await sortedDocuments(store), [
          { id: 'a', path: 'a.pdf', hash: 'hash-a' },
          { id: 'b', path: 'folder/b.md', hash: 'hash-b' },
        ]);
        const info = await store.info();
        assert.equal(info.documents, 2);
        assert.equal(info.chunks, 3);
        const keys = await keysById(store);
        const ids = [...keys.keys()];
        const records = await store.chunks(ids);
        const vectors = await store.vectors(ids);
        assert.equal(vectors.size, 3);
        for (const doc of docs) {
          for (const chunk of doc.chunks) {
            const rec = records.find((x) => x.docId === doc.id && x.ordinal === chunk.ordinal);
            assert.ok(rec, `${doc.id}#${chunk.ordinal} is stored`);
            const expected: Record<string, unknown> = {
              id: rec.id, docId: doc.id, path: doc.path, ordinal: chunk.ordinal, text: chunk.text,
              start: chunk.start, end: chunk.end, headings: chunk.headings,
            };
            if (doc.title !== undefined) expected.title = doc.title;
            if (chunk.page !== undefined) expected.page = chunk.page;
            // An optional field may be absent or undefined.
            assert.deepEqual(Object.fromEntries(Object.entries(rec).filter(([, v]) => v !== undefined)), expected);
            assert.deepEqual([...vectors.get(rec.id)!], [...chunk.vector!], 'vectors come back bit for bit');
          }
        }
      }));

    test('chunks() keeps the asked order; chunks() and vectors() skip unknown ids', () =>
      withStore(async (store) => {
        await store.bind(DENSE);
        const r = rng(3);
        await store.writeDocuments([makeDoc('a', 'a.txt', [{ words: ['w1'] }, { words: ['w2'] }, { words: ['w3'] }], r)]);
        const ids = [...(await keysById(store)).keys()].sort((a, b) => a - b);
        const unknown = Math.max(...ids) + 1000;
        const asked = [ids[2]!, unknown, ids[0]!, ids[1]!];
        assert.deepEqual((await store.chunks(asked)).map((c) => c.id), [ids[2], ids[0], ids[1]]);
        const vectors = await store.vectors(asked);
        assert.deepEqual([...vectors.keys()].sort((a, b) => a - b), ids);
        await assert.rejects(store.chunks([1.5]), /integer/);
      }));

    test('lexicalStats: chunk count, average length and postings of the asked terms', () =>
      withStore(async (store) => {
        await store.bind(LEXICAL);
        const model = new Model();
        const r = rng(4);
        const docs = Array.from({ length: 30 }, (_, i) => randomDoc(r, `d${i}`, `p/${i}.txt`, false));
        await store.writeDocuments(docs);
        model.write(docs);
        const terms = ['w0', 'w1', 'w5', 'w29', 'absent', EVERY, 'w1'];
        assertStatsEqual(await keyedStats(store, terms), expectedStats(model, terms), 'all chunks');
        const stats = await store.lexicalStats(['absent']);
        assert.equal(stats.postings.has('absent'), false, 'a term that occurs nowhere has no entry');
      }));

    test('rewriting a document replaces its chunks, postings and vectors', () =>
      withStore(async (store) => {
        await store.bind(DENSE);
        const r = rng(5);
        const keep = makeDoc('keep', 'keep.txt', [{ words: ['old', 'shared'] }], r);
        await store.writeDocuments([makeDoc('a', 'a.txt', [{ words: ['old', 'old'] }, { words: ['old', 'x'] }, { words: ['x'] }], r), keep]);
        const before = await keysById(store);
        const oldIds = [...before].filter(([, k]) => k.startsWith('a#')).map(([id]) => id);
        assert.equal(oldIds.length, 3);
        const replacement = makeDoc('a', 'moved/a.txt', [{ words: ['new'] }], r, { hash: 'hash-a-2', title: 'New title' });
        await store.writeDocuments([replacement]);
        const model = new Model();
        model.write([keep, replacement]);
        assert.deepEqual(await sortedDocuments(store), [
          { id: 'a', path: 'moved/a.txt', hash: 'hash-a-2' },
          { id: 'keep', path: 'keep.txt', hash: 'hash-keep' },
        ]);
        // Old ids are gone, not reused for the new chunks.
        assert.deepEqual(await store.chunks(oldIds), []);
        assert.equal((await store.vectors(oldIds)).size, 0);
        const terms = ['old', 'x', 'new', 'shared', EVERY];
        assertStatsEqual(await keyedStats(store, terms), expectedStats(model, terms), 'after replacement');
        const [rec] = await store.chunks([...(await keysById(store))].filter(([, k]) => k === 'a#0').map(([id]) => id));
        assert.equal(rec?.path, 'moved/a.txt');
        assert.equal(rec?.title, 'New title');
        assert.equal((await store.info()).chunks, 2);
        await assertSearchExact(store, model, randomVector(r), 5);
      }));

    test('deleteDocuments removes documents with their chunks and ignores unknown ids', () =>
      withStore(async (store) => {
        await store.bind(DENSE);
        const r = rng(6);
        const docs = ['a', 'b', 'c'].map((id) => makeDoc(id, `${id}.txt`, [{ words: ['w1', id] }, { words: ['w2'] }], r));
        await store.writeDocuments(docs);
        const gone = [...(await keysById(store))].filter(([, k]) => !k.startsWith('b#')).map(([id]) => id);
        await store.deleteDocuments(['a', 'c', 'never-written']);
        const model = new Model();
        model.write([docs[1]!]);
        assert.deepEqual((await sortedDocuments(store)).map((d) => d.id), ['b']);
        assert.deepEqual(await store.chunks(gone), []);
        assert.equal((await store.vectors(gone)).size, 0);
        const terms = ['w1', 'w2', 'a', 'b', 'c', EVERY];
        assertStatsEqual(await keyedStats(store, terms), expectedStats(model, terms), 'after deletion');
        await assertSearchExact(store, model, randomVector(r), 10);
        await store.deleteDocuments(['b']);
        assert.deepEqual(await store.lexicalStats(terms), { chunkCount: 0, averageLength: 0, postings: new Map() });
        assert.deepEqual(await store.vectorSearch(randomVector(r), 3), []);
      }));

    test('a rejected batch leaves the store as it was', () =>
      withStore(async (store) => {
        await store.bind(DENSE);
        const r = rng(7);
        await store.writeDocuments([makeDoc('a', 'a.txt', [{ words: ['w1', 'w2'] }], r), makeDoc('b', 'b.txt', [{ words: ['w3'] }], r)]);
        const before = await snapshot(store);
        const wrongDim = makeDoc('bad', 'bad.txt', [{ words: ['w0'] }]);
        wrongDim.chunks[0]!.vector = new Float32Array(DIM + 1);
        const replacement = makeDoc('a', 'a2.txt', [{ words: ['w0'] }], r);
        await assert.rejects(store.writeDocuments([replacement, wrongDim]), (e: unknown) => e instanceof StoreMismatchError && e.setting === 'dimension');
        const missingVector = makeDoc('bad', 'bad.txt', [{ words: ['w0'] }]);
        await assert.rejects(store.writeDocuments([replacement, missingVector]), /vector/);
        await assert.rejects(store.writeDocuments([replacement, replacement]), /twice/);
        const badTf = makeDoc('bad', 'bad.txt', [{ words: ['w0'] }], r);
        (badTf.chunks[0]!.terms as Map<string, number>).set('w0', 0.5);
        await assert.rejects(store.writeDocuments([replacement, badTf]), /frequency/);
        const badPage = makeDoc('bad', 'bad.txt', [{ words: ['w0'], page: 0 }], r);
        await assert.rejects(store.writeDocuments([replacement, badPage]), /page/);
        assert.deepEqual(await snapshot(store), before);
      }));

    test('filters restrict lexicalStats and vectorSearch alike', () =>
      withStore(async (store) => {
        await store.bind(DENSE);
        const r = rng(8);
        const docs = filterCorpus(r);
        await store.writeDocuments(docs);
        const model = new Model();
        model.write(docs);
        const terms = ['w1', 'w2', 'w3', EVERY];
        const query = randomVector(r);
        for (const { filter, match } of FILTER_CASES) {
          assertStatsEqual(await keyedStats(store, terms, filter), expectedStats(model, terms, match), JSON.stringify(filter));
          await assertSearchExact(store, model, query, 3, filter, match);
          await assertSearchExact(store, model, query, 100, filter, match);
        }
        await assert.rejects(store.lexicalStats(terms, { pages: { from: 0 } }), /pages/);
      }));

    test('vectorSearch is exact cosine top-k, best first', () =>
      withStore(async (store) => {
        await store.bind(DENSE);
        const r = rng(9);
        const docs = Array.from({ length: 40 }, (_, i) => randomDoc(r, `d${i}`, `v/${i}.txt`, true));
        await store.writeDocuments(docs);
        const model = new Model();
        model.write(docs);
        for (let q = 0; q < 5; q++) {
          const query = randomVector(r);
          for (const k of [1, 7, 1000]) await assertSearchExact(store, model, query, k);
        }
        // Cosine, not dot product: scaling the query changes nothing.
        const query = randomVector(r);
        const scaled = query.map((x) => x * 50);
        const [a, b] = [await store.vectorSearch(query, 5), await store.vectorSearch(scaled, 5)];
        assert.deepEqual(a.map((h) => h.chunkId), b.map((h) => h.chunkId));
        assert.deepEqual(await store.vectorSearch(query, 0), []);
        await assert.rejects(store.vectorSearch(new Float32Array(DIM + 1), 3), (e: unknown) => e instanceof StoreMismatchError && e.setting === 'dimension');
        await assert.rejects(store.vectorSearch(query, -1), /k/);
      }));

    test('a store without an embedding model refuses vectors and vector search', () =>
      withStore(async (store) => {
        await store.bind(LEXICAL);
        await assert.rejects(store.writeDocuments([makeDoc('a', 'a.txt', [{ words: ['w1'] }], rng(10))]), /vector/);
        await store.writeDocuments([makeDoc('a', 'a.txt', [{ words: ['w1'] }])]);
        await assert.rejects(store.vectorSearch(randomVector(rng(11)), 3), /embedding model/);
      }));

    test('many small writes, replacements and deletions keep the statistics exact', () =>
      withStore(async (store) => {
        await store.bind(DENSE);
        const r = rng(12);
        const model = new Model();
        const terms = Array.from({ length: 30 }, (_, i) => `w${i}`).concat(EVERY);
        for (let step = 0; step < 60; step++) {
          const roll = r();
          if (roll < 0.6 || model.docs.size < 3) {
            const n = 1 + Math.floor(r() * 3);
            const docs = Array.from({ length: n }, () => {
              const id = `d${Math.floor(r() * 40)}`;
              return randomDoc(r, id, `m/${id}.txt`, true);
            });
            const unique = [...new Map(docs.map((d) => [d.id, d])).values()];
            await store.writeDocuments(unique);
            model.write(unique);
          } else {
            const ids = [...model.docs.keys()].filter(() => r() < 0.3);
            await store.deleteDocuments(ids);
            model.delete(ids);
          }
          if (step % 10 === 9) {
            assertStatsEqual(await keyedStats(store, terms), expectedStats(model, terms), `step ${step}`);
            await assertSearchExact(store, model, randomVector(r), 5);
          }
        }
        assert.equal((await store.info()).documents, model.docs.size);
        assert.equal((await store.info()).chunks, model.chunks().length);
      }));

    test('a batch of many documents is written at once', () =>
      withStore(async (store) => {
        await store.bind(LEXICAL);
        const r = rng(13);
        const docs = Array.from({ length: 600 }, (_, i) => randomDoc(r, `doc-${String(i).padStart(4, '0')}`, `big/${i}.txt`, false));
        await store.writeDocuments(docs);
        const model = new Model();
        model.write(docs);
        assert.deepEqual((await sortedDocuments(store)).map((d) => d.id), docs.map((d) => d.id));
        assertStatsEqual(await keyedStats(store, ['w0', 'w3', EVERY]), expectedStats(model, ['w0', 'w3', EVERY]), '600 documents');
      }));

    test('a closed store refuses calls; closing twice is harmless', async () => {
      const store = await create();
      await store.bind(LEXICAL);
      await store.close();
      await store.close();
      await assert.rejects(store.info());
      await assert.rejects(store.lexicalStats([EVERY]));
      await assert.rejects(store.writeDocuments([makeDoc('a', 'a.txt', [{ words: ['w1'] }])]));
    });

    if (options.reopen) {
      const reopen = options.reopen;
      test('everything survives closing and reopening', () =>
        withStore(async (store) => {
          await store.bind(DENSE);
          const r = rng(14);
          const docs = filterCorpus(r);
          await store.writeDocuments(docs);
          const before = await snapshot(store);
          const again = await reopen(store);
          assert.deepEqual(await snapshot(again), before);
          const model = new Model();
          model.write(docs);
          await assertSearchExact(again, model, randomVector(r), 4, { pathGlob: 'docs/**' }, byDocs('a', 'b', 'ab', 'c', 'd'));
          await assert.rejects(again.bind({ ...DENSE, embedModel: 'other' }), StoreMismatchError);
          return again;
        }));
    }
  });
}
