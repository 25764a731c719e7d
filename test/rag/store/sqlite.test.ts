import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { StoreCorruptError, StoreLockedError } from '../../../src/rag/errors.js';
import { SqliteStore } from '../../../src/rag/store/sqlite.js';
import { APPLICATION_ID, SCHEMA_VERSION } from '../../../src/rag/store/sqlite/schema.js';
import { DENSE, EVERY, LEXICAL, makeDoc, postingList, rng, storeConformance } from '../../helpers/store-conformance.js';

const root = mkdtempSync(join(tmpdir(), 'forja-sqlite-store-'));
after(() => rmSync(root, { recursive: true, force: true }));
let counter = 0;
const freshPath = () => join(root, `s${counter++}`, 'store.db');

storeConformance('SqliteStore', () => SqliteStore.open(freshPath()), {
  reopen: async (store) => {
    await store.close();
    return SqliteStore.open(store.location);
  },
});

async function filled(path = freshPath()): Promise<SqliteStore> {
  const store = await SqliteStore.open(path);
  await store.bind(DENSE);
  const r = rng(21);
  const docs = Array.from({ length: 60 }, (_, i) =>
    makeDoc(`d${i}`, `docs/${i}.md`, [{ words: ['alpha', `w${i % 7}`, 'long '.repeat(40)] }, { words: ['beta', `w${i % 5}`] }], r),
  );
  await store.writeDocuments(docs);
  return store;
}

function assertCorrupt(path: string, reason: RegExp) {
  return (e: unknown) => {
    assert.ok(e instanceof StoreCorruptError, String(e));
    assert.equal(e.location, path);
    assert.match(e.message, new RegExp(path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
    assert.match(e.reason, reason);
    return true;
  };
}

test('a new store is one file in WAL mode, marked as a Forja store, in a folder created for it', async () => {
  const path = join(root, 'new', 'nested', 'store.db');
  const store = await SqliteStore.open(path);
  assert.equal(store.location, path);
  await store.close();
  const db = new Database(path, { readonly: true });
  try {
    assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    assert.equal(db.pragma('application_id', { simple: true }), APPLICATION_ID);
    assert.equal(db.pragma('user_version', { simple: true }), SCHEMA_VERSION);
  } finally {
    db.close();
  }
});

test('a zero-byte file or an empty SQLite database becomes a store', async () => {
  const zero = join(root, 'zero.db');
  writeFileSync(zero, '');
  const a = await SqliteStore.open(zero);
  await a.bind(LEXICAL);
  await a.close();
  const empty = join(root, 'empty-sqlite.db');
  new Database(empty).close();
  const b = await SqliteStore.open(empty);
  await b.bind(LEXICAL);
  assert.equal((await b.info()).analyzer, LEXICAL.analyzer);
  await b.close();
});

test('a writer waits out the busy timeout, then fails with StoreLockedError naming the file; readers go on', async () => {
  const store = await filled();
  const path = store.location;
  await store.close();
  const locked = await SqliteStore.open(path, { busyTimeoutMs: 150 });
  const other = new Database(path);
  try {
    other.prepare('BEGIN IMMEDIATE').run();
    const t0 = performance.now();
    await assert.rejects(locked.writeDocuments([makeDoc('x', 'x.md', [{ words: ['w1'] }], rng(1))]), (e: unknown) => {
      assert.ok(e instanceof StoreLockedError, String(e));
      assert.equal(e.location, path);
      assert.ok(e.message.includes(path), e.message);
      return true;
    });
    assert.ok(performance.now() - t0 >= 100, 'the write waited for the busy timeout');
    await assert.rejects(locked.deleteDocuments(['d1']), StoreLockedError);
    // Many readers: WAL lets reads through while the other connection holds the write lock.
    assert.equal((await locked.lexicalStats(['alpha'])).postings.get('alpha')?.chunkIds.length, 60);
    assert.equal((await locked.documents()).length, 60);
    // Binding settings the store already has needs no lock.
    await locked.bind(DENSE);
    other.prepare('ROLLBACK').run();
    await locked.writeDocuments([makeDoc('x', 'x.md', [{ words: ['w1'] }], rng(1))]);
    assert.equal((await locked.info()).documents, 61);
  } finally {
    other.close();
    await locked.close();
  }
});

test('a write transaction held by another process locks the store until that process ends', async () => {
  const store = await filled();
  const path = store.location;
  await store.close();
  const script = `
    const Database = require('better-sqlite3');
    const db = new Database(process.argv[1]);
    db.prepare('BEGIN IMMEDIATE').run();
    db.prepare("UPDATE meta SET value = value WHERE key = 'generation'").run();
    process.stdout.write('locked\\n');
    setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['-e', script, path], { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => d.toString().includes('locked') && resolve());
      child.on('exit', (code) => reject(new Error(`lock holder exited with ${code}`)));
    });
    const writer = await SqliteStore.open(path, { busyTimeoutMs: 100 });
    try {
      await assert.rejects(writer.writeDocuments([makeDoc('y', 'y.md', [{ words: ['w2'] }], rng(2))]), StoreLockedError);
      assert.equal((await writer.info()).documents, 60);
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill();
      await exited;
      await writer.writeDocuments([makeDoc('y', 'y.md', [{ words: ['w2'] }], rng(2))]);
      assert.equal((await writer.info()).documents, 61);
    } finally {
      await writer.close();
    }
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill();
  }
});

test('a file of garbage bytes is refused as corrupt and left untouched', async () => {
  const path = join(root, 'garbage.db');
  const bytes = Buffer.from(Array.from({ length: 8192 }, (_, i) => (i * 7919) % 251));
  writeFileSync(path, bytes);
  await assert.rejects(SqliteStore.open(path), assertCorrupt(path, /not a SQLite database/));
  assert.ok(readFileSync(path).equals(bytes));
  assert.equal(existsSync(`${path}-wal`), false);
  const short = join(root, 'short.db');
  writeFileSync(short, 'SQLite format 3\0');
  await assert.rejects(SqliteStore.open(short), assertCorrupt(short, /not a SQLite database/));
});

test('a truncated store file is refused as corrupt and left untouched', async () => {
  const store = await filled();
  const source = store.location;
  await store.close();
  const whole = readFileSync(source);
  const path = join(root, 'truncated.db');
  const cut = whole.subarray(0, Math.floor(whole.length / 2 / 4096) * 4096 + 100);
  writeFileSync(path, cut);
  await assert.rejects(SqliteStore.open(path), assertCorrupt(path, /truncated/));
  assert.ok(readFileSync(path).equals(cut));
});

test('damaged pages inside a store surface as StoreCorruptError naming the file', async () => {
  const store = await filled();
  const source = store.location;
  await store.close();
  const bytes = Buffer.from(readFileSync(source));
  const pageSize = bytes.readUInt16BE(16);
  // Scribble over every page after the schema's: the b-trees of all tables break.
  for (let o = 2 * pageSize; o < bytes.length; o++) bytes[o] = (o * 31) % 256;
  const path = join(root, 'damaged.db');
  writeFileSync(path, bytes);
  const open = async () => {
    const s = await SqliteStore.open(path);
    try {
      await s.info();
      await s.lexicalStats(['alpha']);
    } finally {
      await s.close();
    }
  };
  await assert.rejects(open(), assertCorrupt(path, /damaged|malformed|corrupt|not a database/i));
});

test('a SQLite database that is not a Forja store is refused and left untouched', async () => {
  const path = join(root, 'foreign.db');
  const db = new Database(path);
  db.exec('CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT); INSERT INTO notes (body) VALUES (\'hello\')');
  db.close();
  const before = readFileSync(path);
  await assert.rejects(SqliteStore.open(path), assertCorrupt(path, /not a Forja store/));
  assert.ok(readFileSync(path).equals(before));
});

test('a store with a newer schema version, or with a table missing, is refused', async () => {
  const store = await filled();
  const path = store.location;
  await store.close();
  const db = new Database(path);
  db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
  db.close();
  await assert.rejects(SqliteStore.open(path), assertCorrupt(path, new RegExp(`schema version ${SCHEMA_VERSION + 1} is newer`)));

  const other = await filled();
  const path2 = other.location;
  await other.close();
  const db2 = new Database(path2);
  db2.exec('DROP TABLE postings');
  db2.close();
  await assert.rejects(SqliteStore.open(path2), assertCorrupt(path2, /lacks the table\(s\) postings/));
});

test('a directory is not a store', async () => {
  const dir = join(root, 'a-directory');
  mkdirSync(dir);
  await assert.rejects(SqliteStore.open(dir), assertCorrupt(dir, /directory/));
});

test('a failure inside a write transaction rolls everything back, new terms included', async () => {
  const store = await filled();
  const path = store.location;
  const terms = ['alpha', 'beta', 'fresh', EVERY];
  const before = {
    docs: await store.documents(),
    stats: await store.lexicalStats(terms),
    info: await store.info(),
  };
  // A trigger makes the second document's insert fail after the first document was replaced.
  const db = new Database(path);
  db.exec("CREATE TRIGGER boom BEFORE INSERT ON documents WHEN NEW.id = 'boom' BEGIN SELECT RAISE(ABORT, 'injected failure'); END");
  const r = rng(3);
  const batch = [makeDoc('d0', 'moved.md', [{ words: ['fresh', 'fresh'] }], r), makeDoc('boom', 'boom.md', [{ words: ['fresh'] }], r)];
  await assert.rejects(store.writeDocuments(batch), /injected failure/);
  assert.deepEqual(await store.documents(), before.docs);
  assert.deepEqual(await store.lexicalStats(terms), before.stats);
  assert.deepEqual(await store.info(), before.info);
  db.exec('DROP TRIGGER boom');
  db.close();
  // The term ids handed out inside the failed transaction must not be reused from a cache.
  await store.writeDocuments(batch);
  const stats = await store.lexicalStats(['fresh']);
  assert.deepEqual([...(stats.postings.get('fresh')?.tfs ?? [])].sort(), [1, 2]);
  await store.close();
});

test('a second connection sees the first one\'s writes (caches follow the store, not the connection)', async () => {
  const a = await filled();
  const b = await SqliteStore.open(a.location);
  try {
    const r = rng(4);
    assert.equal((await b.lexicalStats(['gamma'])).postings.size, 0);
    const query = (await a.vectors([1])).get(1)!;
    const first = await b.vectorSearch(query, 3);
    await a.writeDocuments([makeDoc('g', 'g.md', [{ words: ['gamma', 'gamma'] }], () => 0.9)]);
    assert.equal((await b.lexicalStats(['gamma'])).postings.get('gamma')?.tfs[0], 2);
    assert.equal((await b.lexicalStats([EVERY])).chunkCount, 121);
    await a.deleteDocuments(['d0']);
    assert.equal((await b.info()).documents, 60);
    const hits = await b.vectorSearch(query, 3);
    assert.ok(!hits.some((h) => h.chunkId === 1), 'the deleted chunk left the other connection\'s vector cache');
    assert.equal(first[0]?.chunkId, 1);
    await b.writeDocuments([makeDoc('h', 'h.md', [{ words: ['gamma'] }], r)]);
    assert.equal((await a.lexicalStats(['gamma'])).postings.get('gamma')?.chunkIds.length, 2);
  } finally {
    await b.close();
    await a.close();
  }
});

test('segments merge, so many small writes leave few of them', async () => {
  const path = freshPath();
  const store = await SqliteStore.open(path);
  await store.bind(LEXICAL);
  for (let i = 0; i < 100; i++) await store.writeDocuments([makeDoc(`d${i}`, `${i}.md`, [{ words: ['x', `w${i % 9}`] }])]);
  const stats = await store.lexicalStats(['x', EVERY]);
  // postingList checks that the ids ascend across the merged segments.
  assert.equal(postingList(stats.postings.get('x')!, 'x').length, 100);
  await store.close();
  const db = new Database(path, { readonly: true });
  const segments = db.prepare('SELECT count(*) FROM segments').pluck().get() as number;
  db.close();
  assert.ok(segments < 20, `${segments} segments after 100 writes`);
  assert.ok(statSync(path).size > 0);
});
