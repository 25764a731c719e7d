import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { SqliteStore } from '../../../../src/rag/store/sqlite.js';
import type { DocumentInput, StoreSettings } from '../../../../src/rag/store/types.js';
import { Rng } from '../../../../src/core/rng.js';

const root = mkdtempSync(join(tmpdir(), 'forja-ann-index-'));
after(() => rmSync(root, { recursive: true, force: true }));
let counter = 0;
const freshPath = () => join(root, `s${counter++}`, 'store.db');

const DIM = 32;
const SETTINGS: StoreSettings = { analyzer: 'ann-test', embedModel: 'clustered', dimension: DIM };
const CHUNKS_PER_DOC = 5;

/** Uniform [0, 1) numbers from Forja's seeded Rng. */
function rng(seed: number): () => number {
  const r = new Rng(seed);
  return () => r.next();
}

const r = rng(17);
const gauss = () => Math.sqrt(-2 * Math.log(r() + 1e-12)) * Math.cos(2 * Math.PI * r());
const centres = Array.from({ length: 20 }, () => Float32Array.from({ length: DIM }, gauss));
const near = () => {
  const c = centres[Math.floor(r() * centres.length)]!;
  return Float32Array.from(c, (x) => x + 0.4 * gauss());
};

function docs(from: number, to: number): DocumentInput[] {
  const out: DocumentInput[] = [];
  for (let d = from; d < to; d++) {
    out.push({
      id: `d${d}`,
      path: `${d % 2 === 0 ? 'even' : 'odd'}/${d}.md`,
      hash: `h${d}`,
      chunks: Array.from({ length: CHUNKS_PER_DOC }, (_, ordinal) => ({
        ordinal,
        text: `chunk ${ordinal}`,
        start: ordinal * 10,
        end: ordinal * 10 + 7,
        headings: [],
        terms: new Map([['chunk', 1]]),
        vector: near(),
      })),
    });
  }
  return out;
}

const queries = Array.from({ length: 40 }, near);

function graphRow(path: string): { generation: number; builds: number; graph: Buffer } | undefined {
  const db = new Database(path, { readonly: true });
  try {
    const has = db.prepare("SELECT count(*) FROM sqlite_schema WHERE name = 'hnsw_graph'").pluck().get() as number;
    return has ? (db.prepare('SELECT generation, builds, graph FROM hnsw_graph').get() as never) : undefined;
  } finally {
    db.close();
  }
}

function generation(path: string): number {
  const db = new Database(path, { readonly: true });
  try {
    return Number(db.prepare("SELECT value FROM meta WHERE key = 'generation'").pluck().get());
  } finally {
    db.close();
  }
}

async function recallAgainst(ann: SqliteStore, exact: SqliteStore, filter?: { pathGlob?: string; docIds?: string[] }): Promise<number> {
  let total = 0;
  for (const q of queries) {
    const got = await ann.vectorSearch(q, 10, filter);
    const want = await exact.vectorSearch(q, 10, filter);
    assert.equal(got.length, want.length);
    const ids = new Set(want.map((h) => h.chunkId));
    const scoreOf = new Map(want.map((h) => [h.chunkId, h.score]));
    for (const h of got) {
      if (scoreOf.has(h.chunkId)) assert.ok(Math.abs(h.score - scoreOf.get(h.chunkId)!) < 1e-5, 'the same cosine as exact search');
    }
    total += got.filter((h) => ids.has(h.chunkId)).length / want.length;
  }
  return total / queries.length;
}

// 2,000 chunks; the ANN store switches past 999, the exact one never, both on the same file.
async function pair(path = freshPath()) {
  const ann = await SqliteStore.open(path, { exactSearchLimit: 999, hnsw: { m: 12, efConstruction: 100, seed: 9 } });
  await ann.bind(SETTINGS);
  await ann.writeDocuments(docs(0, 400));
  const exact = await SqliteStore.open(path, { exactSearchLimit: 1e9 });
  return { path, ann, exact };
}

test('below the threshold search stays exact; above it the store builds and saves an HNSW graph that agrees with exact search', async () => {
  const path = freshPath();
  // The option's old name still opens a store: HNSW from annThreshold chunks on is exactSearchLimit 999.
  const small = await SqliteStore.open(path, { annThreshold: 1000 });
  await small.bind(SETTINGS);
  await small.writeDocuments(docs(0, 100));
  await small.vectorSearch(queries[0]!, 10);
  assert.equal(graphRow(path), undefined, '500 chunks: no graph');
  await small.close();
  const { ann, exact } = await pair();
  const recall = await recallAgainst(ann, exact);
  assert.ok(recall >= 0.95, `recall@10 ${recall}`);
  const saved = graphRow(ann.location)!;
  assert.equal(saved.builds, 1);
  assert.equal(saved.generation, generation(ann.location));
  await ann.close();
  await exact.close();
});

test('filters: a selective one is answered exactly, a broad one returns only its chunks, k of them', async () => {
  const { ann, exact } = await pair();
  const few = { docIds: ['d3', 'd150', 'd299'] };
  for (const q of queries.slice(0, 5)) {
    const got = await ann.vectorSearch(q, 10, few);
    const want = await exact.vectorSearch(q, 10, few);
    // Vectors are held normalised in float32: scores agree to float32 precision.
    assert.deepEqual(got.map((h) => h.chunkId), want.map((h) => h.chunkId));
    got.forEach((h, i) => assert.ok(Math.abs(h.score - want[i]!.score) < 1e-6));
  }
  const all15 = await ann.vectorSearch(queries[0]!, 50, few);
  assert.equal(all15.length, 15, 'every matching chunk when k exceeds them');
  const odd = { pathGlob: 'odd/*' };
  const oddIds = new Set((await exact.vectorSearch(queries[0]!, 2000, odd)).map((h) => h.chunkId));
  for (const q of queries) {
    const hits = await ann.vectorSearch(q, 10, odd);
    assert.equal(hits.length, 10);
    for (const h of hits) assert.ok(oddIds.has(h.chunkId), `chunk ${h.chunkId} is not under odd/`);
  }
  assert.ok((await recallAgainst(ann, exact, odd)) >= 0.95);
  await ann.close();
  await exact.close();
});

test('deleted and replaced chunks are never returned, new ones are found, and the graph is updated, not rebuilt', async () => {
  const { path, ann, exact } = await pair();
  await ann.vectorSearch(queries[0]!, 10);
  const before = await exact.vectorSearch(queries[1]!, 20);
  const gone = new Set(before.slice(0, 10).map((h) => h.chunkId));
  const goneDocs = (await ann.chunks([...gone])).map((c) => c.docId);
  await ann.deleteDocuments(goneDocs);
  const added = docs(400, 420);
  await ann.writeDocuments(added);
  for (const q of queries) for (const h of await ann.vectorSearch(q, 10)) assert.ok(!gone.has(h.chunkId), `deleted chunk ${h.chunkId}`);
  // A query equal to a new chunk's vector finds that chunk first.
  const target = added[7]!.chunks[2]!.vector!;
  const [top] = await ann.vectorSearch(target, 1);
  const [rec] = await ann.chunks([top!.chunkId]);
  assert.equal(rec!.docId, 'd407');
  assert.equal(rec!.ordinal, 2);
  assert.ok((await recallAgainst(ann, exact)) >= 0.95);
  assert.equal(graphRow(path)!.builds, 1);
  assert.equal(graphRow(path)!.generation, generation(path));
  await ann.close();
  await exact.close();
});

test('the graph survives close and reopen without a rebuild, also when chunks were deleted while it was on disk', async () => {
  const { path, ann, exact } = await pair();
  const first = await ann.vectorSearch(queries[2]!, 10);
  await ann.close();
  const saved = graphRow(path)!;
  const reopened = await SqliteStore.open(path, { exactSearchLimit: 999, hnsw: { m: 12, efConstruction: 100, seed: 9 } });
  assert.deepEqual(await reopened.vectorSearch(queries[2]!, 10), first);
  const after = graphRow(path)!;
  assert.equal(after.builds, 1);
  assert.ok(after.graph.equals(saved.graph), 'an unchanged graph is not written again');
  await reopened.close();
  // Another process deletes while the graph is on disk.
  const deleted = ['d1', 'd2', 'd3', 'd4'];
  const deletedChunks = new Set((await exact.vectorSearch(queries[0]!, 2000, { docIds: deleted })).map((h) => h.chunkId));
  await exact.deleteDocuments(deleted);
  const again = await SqliteStore.open(path, { exactSearchLimit: 999, hnsw: { m: 12, efConstruction: 100, seed: 9 } });
  for (const q of queries) for (const h of await again.vectorSearch(q, 10)) assert.ok(!deletedChunks.has(h.chunkId));
  assert.ok((await recallAgainst(again, exact)) >= 0.95);
  assert.equal(graphRow(path)!.builds, 1);
  assert.equal(graphRow(path)!.generation, generation(path));
  // Other graph parameters rebuild it.
  const other = await SqliteStore.open(path, { exactSearchLimit: 999, hnsw: { m: 8 } });
  await other.vectorSearch(queries[0]!, 10);
  assert.equal(graphRow(path)!.builds, 2);
  await other.close();
  await again.close();
  await exact.close();
});

test('a graph save that would wait for another writer is skipped, and done by a later search', async () => {
  const { path, ann, exact } = await pair();
  const other = new Database(path);
  other.exec('BEGIN IMMEDIATE');
  try {
    assert.equal((await ann.vectorSearch(queries[0]!, 10)).length, 10);
  } finally {
    other.exec('ROLLBACK');
    other.close();
  }
  assert.equal(graphRow(path), undefined);
  await ann.vectorSearch(queries[0]!, 10);
  assert.equal(graphRow(path)!.builds, 1);
  await ann.close();
  await exact.close();
});

test('bad ANN options are refused, naming the option', async () => {
  await assert.rejects(SqliteStore.open(freshPath(), { exactSearchLimit: -1 }), /SqliteStore: exactSearchLimit must be a non-negative integer, got -1/);
  await assert.rejects(SqliteStore.open(freshPath(), { annThreshold: -1 }), /annThreshold must be a non-negative integer, got -1/);
  await assert.rejects(SqliteStore.open(freshPath(), { hnsw: { m: 1 } }), /hnsw\.m must be an integer >= 2, got 1/);
  await assert.rejects(SqliteStore.open(freshPath(), { hnsw: { efSearch: 0 } }), /hnsw\.efSearch must be an integer >= 1, got 0/);
});
