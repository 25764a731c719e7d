import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createStore, isPostgresUrl, redactUrl } from '../../../src/rag/store/open.js';
import { SqliteStore } from '../../../src/rag/store/sqlite.js';

const root = mkdtempSync(join(tmpdir(), 'forja-open-store-'));
after(() => rmSync(root, { recursive: true, force: true }));

test('createStore opens a SQLite file for a path', async () => {
  const path = join(root, 'a.db');
  const store = await createStore(path, { busyTimeoutMs: 50 });
  try {
    assert.ok(store instanceof SqliteStore);
    assert.equal(store.location, path);
  } finally {
    await store.close();
  }
  await assert.rejects(createStore('  '), /empty/);
});

test('postgres:// and postgresql:// URLs choose the PostgreSQL backend, named without the password', async () => {
  assert.ok(isPostgresUrl('postgres://u@h/db'));
  assert.ok(isPostgresUrl('POSTGRESQL://h/db'));
  assert.ok(!isPostgresUrl('store.db'));
  assert.ok(!isPostgresUrl('./postgres://x'));
  assert.equal(redactUrl('postgres://user:secret@host:5432/db?x=1'), 'postgres://user@host:5432/db?x=1');
  assert.equal(redactUrl('postgres://host/db'), 'postgres://host/db');
  await assert.rejects(createStore('postgresql://user:secret@127.0.0.1:1/db'), (e: unknown) => {
    assert.ok(e instanceof Error);
    assert.ok(!e.message.includes('secret'), e.message);
    assert.ok(e.message.includes('postgresql://user@127.0.0.1:1/db'), e.message);
    return true;
  });
});
