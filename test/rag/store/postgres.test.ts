import { after, before, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type AddressInfo } from 'node:net';
import pg from 'pg';
import { StoreCorruptError, StoreLockedError, StoreMismatchError, StoreUnreachableError } from '../../../src/rag/errors.js';
import { PostgresStore, type PostgresStoreOptions } from '../../../src/rag/store/postgres.js';
import { lockKeys } from '../../../src/rag/store/postgres/connection.js';
import { parseStoreUrl, redactPostgresUrl } from '../../../src/rag/store/postgres/url.js';
import type { DocumentInput } from '../../../src/rag/store/types.js';
import { postgresUrl, stopPostgres } from '../../helpers/pg-server.js';
import { storeConformance } from '../../helpers/store-conformance.js';
import { Rng } from '../../../src/core/rng.js';

let baseUrl = '';
let admin: pg.Client;
const schemas: string[] = [];

before(async () => {
  baseUrl = await postgresUrl();
  admin = new pg.Client({ connectionString: baseUrl });
  await admin.connect();
});

after(async () => {
  for (const schema of schemas) await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await admin.end();
  await stopPostgres();
});

/** A fresh schema's URL; dropped when the tests end. */
function freshUrl(): string {
  const schema = `t_${process.pid}_${schemas.length}`;
  schemas.push(schema);
  const u = new URL(baseUrl);
  u.searchParams.set('schema', schema);
  return u.toString();
}

/** Opens a store closed after the test: the PGlite server takes only a few connections at a time. */
async function open(t: TestContext, url: string, options: PostgresStoreOptions = {}): Promise<PostgresStore> {
  const store = await PostgresStore.open(url, options);
  t.after(() => store.close());
  return store;
}

function schemaOf(url: string): string {
  return new URL(url).searchParams.get('schema')!;
}

/** Uniform [0, 1) numbers from Forja's seeded Rng. */
function rng(seed: number): () => number {
  const r = new Rng(seed);
  return () => r.next();
}

function doc(id: string, chunks: number, options: { dim?: number; r?: () => number; path?: string } = {}): DocumentInput {
  return {
    id,
    path: options.path ?? `docs/${id}.md`,
    hash: `h-${id}`,
    chunks: Array.from({ length: chunks }, (_, i) => ({
      ordinal: i,
      text: `chunk ${i} of ${id}`,
      start: i * 100,
      end: i * 100 + 99,
      headings: [id],
      terms: new Map([['common', 1 + i], [`only${id}`, 2]]),
      vector: options.dim === undefined ? undefined : Float32Array.from({ length: options.dim }, () => options.r!() * 2 - 1),
    })),
  };
}

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const openedAt = new WeakMap<PostgresStore, string>();
storeConformance(
  'PostgresStore',
  async () => {
    const url = freshUrl();
    const store = await PostgresStore.open(url);
    openedAt.set(store, url);
    return store;
  },
  {
    reopen: async (store) => {
      await store.close();
      return PostgresStore.open(openedAt.get(store as PostgresStore)!);
    },
  },
);

describe('PostgresStore: URLs', () => {
  test('the schema comes from ?schema= (default forja) and is not passed on to pg; passwords are removed', () => {
    const p = parseStoreUrl('postgres://u:s3cret@db.example:5433/rag?schema=corpus_1&sslmode=require');
    assert.equal(p.schema, 'corpus_1');
    assert.equal(p.connectionString, 'postgres://u:s3cret@db.example:5433/rag?sslmode=require');
    assert.equal(p.location, 'postgres://u@db.example:5433/rag?schema=corpus_1&sslmode=require');
    assert.equal(parseStoreUrl('postgresql://h/db').schema, 'forja');
    assert.equal(redactPostgresUrl('postgres://h/db?password=s3cret&user=u'), 'postgres://h/db?user=u');
    assert.throws(() => parseStoreUrl('postgres://h/db?schema=a;drop'), /schema "a;drop" is not a plain identifier/);
    assert.throws(() => parseStoreUrl('mysql://h/db'), /not a postgres:\/\/ URL/);
  });

  test('options are checked', async () => {
    await assert.rejects(PostgresStore.open(freshUrl(), { lockTimeoutMs: -1 }), /lockTimeoutMs must be an integer >= 0, got -1/);
    await assert.rejects(PostgresStore.open(''), /the URL is empty/);
  });
});

describe('PostgresStore: unreachable servers', () => {
  test('a closed port is StoreUnreachableError naming the URL without its password, within the timeout', async () => {
    const port = await closedPort();
    const t0 = performance.now();
    const err = await PostgresStore.open(`postgres://forja:s3cret@127.0.0.1:${port}/db`, { connectTimeoutMs: 2000 }).then(
      () => assert.fail('opened a closed port'),
      (e: unknown) => e,
    );
    assert.ok(performance.now() - t0 < 3000);
    assert.ok(err instanceof StoreUnreachableError, String(err));
    assert.equal(err.location, `postgres://forja@127.0.0.1:${port}/db`);
    assert.match(err.message, new RegExp(`^cannot reach postgres://forja@127\\.0\\.0\\.1:${port}/db: .*ECONNREFUSED`));
    assert.doesNotMatch(err.message, /s3cret/);
  });

  test('a server that accepts but never answers is StoreUnreachableError after connectTimeoutMs', async () => {
    const silent = createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as AddressInfo;
    try {
      const t0 = performance.now();
      await assert.rejects(
        PostgresStore.open(`postgres://u:pw@127.0.0.1:${port}/db`, { connectTimeoutMs: 500 }),
        (e: unknown) => e instanceof StoreUnreachableError && /timeout/i.test(e.reason) && !e.message.includes(':pw@'),
      );
      const ms = performance.now() - t0;
      assert.ok(ms >= 400 && ms < 3000, `took ${ms} ms`);
    } finally {
      silent.close();
    }
  });

  test('a host name that does not resolve is StoreUnreachableError', async () => {
    await assert.rejects(
      PostgresStore.open('postgres://u:pw@forja-no-such-host.invalid/db', { connectTimeoutMs: 2000 }),
      (e: unknown) => e instanceof StoreUnreachableError && /ENOTFOUND|EAI_AGAIN|timeout/.test(e.reason),
    );
  });
});

describe('PostgresStore: schema', () => {
  test('bind adds a float32 embedding column; the HNSW index over its halfvec cast comes once the store outgrows exact search', async (t) => {
    const url = freshUrl();
    const store = await open(t, url, { exactSearchLimit: 3 });
    await store.bind({ analyzer: 'a', embedModel: 'm', dimension: 8 });
    const schema = schemaOf(url);
    const col = await admin.query(
      `SELECT format_type(a.atttypid, a.atttypmod) FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = 'chunks' AND a.attname = 'embedding'`,
      [schema],
    );
    assert.equal(col.rows[0].format_type, 'vector(8)');
    const index = async () =>
      (await admin.query('SELECT indexdef FROM pg_indexes WHERE schemaname = $1 AND indexname = $2', [schema, 'chunks_embedding'])).rows[0]?.indexdef;
    const r = rng(3);
    await store.writeDocuments([doc('a', 3, { dim: 8, r })]);
    assert.equal(await index(), undefined);
    await store.writeDocuments([doc('b', 1, { dim: 8, r })]);
    assert.match(await index(), /USING hnsw \(\(\(embedding\)::(public\.)?halfvec\(8\)\) (public\.)?halfvec_cosine_ops\)/);
    // Rewriting the same chunks keeps the index.
    await store.writeDocuments([doc('b', 1, { dim: 8, r })]);
    assert.ok(await index());
  });

  test('a BM25-only store has no embedding column', async (t) => {
    const url = freshUrl();
    const store = await open(t, url);
    await store.bind({ analyzer: 'a' });
    await store.writeDocuments([doc('x', 1)]);
    const col = await admin.query(
      `SELECT 1 FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'chunks' AND column_name = 'embedding'`,
      [schemaOf(url)],
    );
    assert.equal(col.rowCount, 0);
    assert.deepEqual(await store.vectors([1]), new Map());
  });

  test('a schema of other tables, or of a newer version, is refused as StoreCorruptError', async () => {
    const foreign = freshUrl();
    await admin.query(`CREATE SCHEMA "${schemaOf(foreign)}"; CREATE TABLE "${schemaOf(foreign)}".invoices (id int)`);
    await assert.rejects(PostgresStore.open(foreign), (e: unknown) => e instanceof StoreCorruptError && /invoices/.test(e.reason) && /no Forja meta table/.test(e.reason));

    const newer = freshUrl();
    await (await PostgresStore.open(newer)).close();
    await admin.query(`UPDATE "${schemaOf(newer)}".meta SET value = '99' WHERE key = 'schema_version'`);
    await assert.rejects(PostgresStore.open(newer), (e: unknown) => e instanceof StoreCorruptError && /schema version 99 is newer/.test(e.reason));
  });

  test('stores in two schemas of one database are separate; a reopened store keeps its data and settings', async (t) => {
    const a = freshUrl();
    const b = freshUrl();
    const sa = await open(t, a);
    const sb = await open(t, b);
    await sa.bind({ analyzer: 'a', embedModel: 'm1', dimension: 4 });
    await sb.bind({ analyzer: 'a' });
    await sa.writeDocuments([doc('one', 2, { dim: 4, r: rng(1) })]);
    assert.equal((await sb.info()).chunks, 0);
    await sa.close();
    const again = await open(t, a);
    assert.deepEqual(await again.info(), { analyzer: 'a', embedModel: 'm1', dimension: 4, location: a, documents: 1, chunks: 2 });
    await assert.rejects(again.bind({ analyzer: 'a', embedModel: 'm2', dimension: 4 }), (e: unknown) =>
      e instanceof StoreMismatchError && e.setting === 'embedModel' && e.stored === 'm1' && e.requested === 'm2');
    await assert.rejects(again.bind({ analyzer: 'a', embedModel: 'm1', dimension: 5 }), /was built with dimension 4, not 5/);
  });
});

describe('PostgresStore: transactions and the writer lock', () => {
  test('a throw in the middle of a write leaves the store as it was', async (t) => {
    const store = await open(t, freshUrl());
    await store.bind({ analyzer: 'a' });
    await store.writeDocuments([doc('a', 2), doc('b', 1)]);
    const before = { info: await store.info(), docs: await store.documents(), stats: await store.lexicalStats(['common', 'onlya', 'onlyc']) };
    // Fails after the documents were upserted, old chunks deleted and new ones inserted: while reading
    // the term frequencies for the postings.
    class FailingTerms extends Map<string, number> {
      override values(): MapIterator<number> {
        throw new Error('term source failed');
      }
    }
    const changed = doc('a', 3);
    changed.hash = 'h-a2';
    const failing = doc('c', 1);
    failing.chunks[0]!.terms = new FailingTerms([['onlyc', 1]]);
    await assert.rejects(store.writeDocuments([changed, failing]), /term source failed/);
    assert.deepEqual(await store.info(), before.info);
    assert.deepEqual(await store.documents(), before.docs);
    assert.deepEqual(await store.lexicalStats(['common', 'onlya', 'onlyc']), before.stats);
    // The connection was returned in a usable state.
    await store.writeDocuments([doc('c', 1)]);
    assert.equal((await store.info()).documents, 3);
  });

  test('text PostgreSQL cannot hold (NUL) is refused naming the chunk, and nothing is written', async (t) => {
    const store = await open(t, freshUrl());
    await store.bind({ analyzer: 'a' });
    const bad = doc('n', 2);
    bad.chunks[1]!.text = 'a\0b';
    await assert.rejects(store.writeDocuments([doc('ok', 1), bad]), /document "n", chunk 1: text contains a NUL character/);
    assert.equal((await store.info()).documents, 0);
  });

  test('a write while another session holds the lock is StoreLockedError naming the URL without its password', async (t) => {
    const url = freshUrl();
    const withPassword = url.replace('postgres://postgres@', 'postgres://postgres:s3cret@');
    const store = await open(t, withPassword, { lockTimeoutMs: 200 });
    await store.bind({ analyzer: 'a' });
    await store.writeDocuments([doc('a', 1)]);
    const holder = new pg.Client({ connectionString: baseUrl });
    await holder.connect();
    try {
      await holder.query('BEGIN');
      const [k1, k2] = lockKeys(schemaOf(url));
      await holder.query('SELECT pg_advisory_xact_lock($1, $2)', [k1, k2]);
      const t0 = performance.now();
      const err = await store.writeDocuments([doc('b', 1)]).then(() => assert.fail('wrote while locked'), (e: unknown) => e);
      assert.ok(err instanceof StoreLockedError, String(err));
      assert.equal(err.location, url);
      assert.equal(err.message, `${url} is locked by another writer`);
      assert.ok(performance.now() - t0 < 5000);
      await holder.query('COMMIT');
    } finally {
      await holder.end();
    }
    assert.deepEqual((await store.documents()).map((d) => d.id), ['a']);
    await store.writeDocuments([doc('b', 1)]);
    assert.deepEqual((await store.documents()).map((d) => d.id), ['a', 'b']);
  });

  test('one store handle runs concurrent writes one after the other', async (t) => {
    const store = await open(t, freshUrl());
    await store.bind({ analyzer: 'a' });
    await Promise.all(Array.from({ length: 4 }, (_, i) => store.writeDocuments([doc(`w${i}`, 2)])));
    const info = await store.info();
    assert.equal(info.documents, 4);
    assert.equal((await store.lexicalStats(['common'])).postings.get('common')!.chunkIds.length, 8);
  });
});

describe('PostgresStore: HNSW search', () => {
  const DIM = 16;
  let exact: PostgresStore;
  let ann: PostgresStore;
  let url = '';

  before(async () => {
    url = freshUrl();
    // Two handles on the same tables: one always searches through the index (and builds it on its first
    // write), the other exactly.
    ann = await PostgresStore.open(url, { exactSearchLimit: 0 });
    exact = await PostgresStore.open(url);
    await ann.bind({ analyzer: 'a', embedModel: 'm', dimension: DIM });
    const r = rng(42);
    const docs = Array.from({ length: 200 }, (_, i) => doc(`d${String(i).padStart(3, '0')}`, 3, { dim: DIM, r, path: i < 5 ? `rare/${i}.md` : `bulk/${i}.md` }));
    await ann.writeDocuments(docs);
  });
  after(async () => {
    await exact.close();
    await ann.close();
  });

  test('unfiltered: k results, best first, mostly the exact top-k', async () => {
    const r = rng(7);
    let overlap = 0;
    for (let i = 0; i < 10; i++) {
      const q = Float32Array.from({ length: DIM }, () => r() * 2 - 1);
      const want = await exact.vectorSearch(q, 10);
      const got = await ann.vectorSearch(q, 10);
      assert.equal(got.length, 10);
      for (let j = 1; j < got.length; j++) assert.ok(got[j - 1]!.score >= got[j]!.score);
      const ids = new Set(want.map((h) => h.chunkId));
      overlap += got.filter((h) => ids.has(h.chunkId)).length;
      // Scores come from the float32 column, so a hit found by both has the same score.
      for (const h of got) {
        const w = want.find((x) => x.chunkId === h.chunkId);
        if (w) assert.ok(Math.abs(w.score - h.score) < 1e-6);
      }
    }
    assert.ok(overlap / 100 >= 0.9, `recall@10 ${overlap / 100}`);
  });

  // Index statistics reach the views when a session flushes them: PGlite's one session does on request,
  // a real server's backends within about ten seconds.
  const indexScansAbove = async (n: number): Promise<boolean> => {
    for (const t0 = Date.now(); Date.now() - t0 < 12_000; await new Promise((r) => setTimeout(r, 100))) {
      if ((await indexScans()) > n) return true;
    }
    return false;
  };
  const indexScans = async () => {
    await admin.query('SELECT pg_stat_force_next_flush()');
    await admin.query('SELECT pg_stat_clear_snapshot()');
    return Number(
      (await admin.query('SELECT idx_scan FROM pg_stat_user_indexes WHERE schemaname = $1 AND indexrelname = $2', [schemaOf(url), 'chunks_embedding']))
        .rows[0].idx_scan,
    );
  };

  test('the HNSW index serves the search', async () => {
    const before = await indexScans();
    assert.equal((await ann.vectorSearch(new Float32Array(DIM).fill(0.5), 5)).length, 5);
    assert.ok(await indexScansAbove(before));
    const still = await indexScans();
    await exact.vectorSearch(new Float32Array(DIM).fill(0.5), 5);
    assert.equal(await indexScans(), still);
  });

  test('a filter that keeps 15 of 600 chunks, applied inside the HNSW scan, still returns the exact top k', async () => {
    // On a table this small the planner answers a selective filter from the (doc, page) index, exactly.
    // Without that index, as on a big table where the graph is the cheaper plan, the filter applies
    // inside the HNSW scan, which stops after ef_search candidates unless it iterates.
    const s = `"${schemaOf(url)}"`;
    await admin.query(`DROP INDEX ${s}.chunks_doc`);
    const filter = { pathGlob: 'rare/*.md' };
    const r = rng(9);
    const before = await indexScans();
    for (let i = 0; i < 5; i++) {
      const q = Float32Array.from({ length: DIM }, () => r() * 2 - 1);
      const got = await ann.vectorSearch(q, 10, filter);
      const want = await exact.vectorSearch(q, 10, filter);
      assert.equal(got.length, 10);
      assert.deepEqual(got.map((h) => h.chunkId), want.map((h) => h.chunkId));
    }
    assert.ok(await indexScansAbove(before + 4));
    // The same scan without iterating finds at most ef_search neighbours, of which the filter keeps few.
    const client = new pg.Client({ connectionString: baseUrl });
    await client.connect();
    try {
      await client.query('BEGIN; SET LOCAL hnsw.iterative_scan = off; SET LOCAL hnsw.ef_search = 40; SET LOCAL enable_seqscan = off');
      const plain = await client.query(
        `SELECT c.id FROM ${s}.chunks c WHERE c.doc = ANY (ARRAY(SELECT d.key FROM ${s}.documents d WHERE d.path ~ '^rare/'))
          ORDER BY c.embedding::halfvec(${DIM}) <=> $1::vector::halfvec(${DIM}) LIMIT 10`,
        [`[${new Array(DIM).fill(0.5).join(',')}]`],
      );
      assert.ok(plain.rowCount! < 10, `plain HNSW returned ${plain.rowCount}`);
      await client.query('COMMIT');
    } finally {
      await client.end();
    }
  });

  test('page and document filters, and k larger than the selection', async () => {
    const got = await ann.vectorSearch(new Float32Array(DIM).fill(1), 50, { docIds: ['d010', 'd020'], pages: { from: 1 } });
    assert.deepEqual(got, []); // these chunks have no page
    const two = await ann.vectorSearch(new Float32Array(DIM).fill(1), 50, { docIds: ['d010', 'd020'] });
    assert.equal(two.length, 6);
    const records = await ann.chunks(two.map((h) => h.chunkId));
    assert.deepEqual([...new Set(records.map((c) => c.docId))].sort(), ['d010', 'd020']);
  });
});
