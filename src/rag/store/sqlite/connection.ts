/** Opening the SQLite file: header checks, schema creation, connection settings, and error mapping. */
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { StoreCorruptError, StoreLockedError, StoreUnreachableError } from '../../errors.js';
import type { VectorSearchOptions } from '../settings.js';
import type { AnnOptions } from './ann-index.js';
import { APPLICATION_ID, inspectFile, SCHEMA, SCHEMA_VERSION, TABLES } from './schema.js';

/** `exactSearchLimit` (default 20,000 here) chooses exact or HNSW search, as for PostgreSQL. */
export interface SqliteStoreOptions extends VectorSearchOptions {
  /** How long a write waits for another writer before StoreLockedError; default 5000 ms. */
  busyTimeoutMs?: number;
  /** The graph's parameters (./ann-index.ts). */
  hnsw?: AnnOptions;
}

export type Db = Database.Database;

/** better-sqlite3's errors as the store's typed errors. */
export function mapError(e: unknown, location: string): unknown {
  if (!(e instanceof Database.SqliteError)) return e;
  const code = e.code;
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) return new StoreLockedError(location, { cause: e });
  if (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB') return new StoreCorruptError(location, e.message, { cause: e });
  if (code.startsWith('SQLITE_CANTOPEN')) return new StoreUnreachableError(location, e.message, { cause: e });
  return e;
}

/** Creates the schema in an empty file, then refuses anything that is not a Forja store this code reads. */
function prepareFile(db: Db, location: string): void {
  const appId = () => db.pragma('application_id', { simple: true }) as number;
  const objects = () => db.prepare('SELECT count(*) FROM sqlite_schema').pluck().get() as number;
  if (appId() === 0 && objects() === 0) {
    if (db.pragma('journal_mode', { simple: true }) !== 'wal') db.pragma('journal_mode = WAL');
    db.transaction(() => {
      // Another process may have created it since the check above.
      if (appId() !== 0 || objects() !== 0) return;
      db.exec(SCHEMA);
      db.pragma(`application_id = ${APPLICATION_ID}`);
      db.pragma(`user_version = ${SCHEMA_VERSION}`);
    }).immediate();
  }
  const id = appId();
  if (id !== APPLICATION_ID) {
    throw new StoreCorruptError(location, `it is a SQLite database, but not a Forja store (application_id ${id})`);
  }
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > SCHEMA_VERSION) {
    throw new StoreCorruptError(location, `its schema version ${version} is newer than this version of Forja reads (${SCHEMA_VERSION})`);
  }
  if (version < 1) throw new StoreCorruptError(location, `its schema version ${version} is not one Forja ever wrote`);
  const present = new Set(db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table'").pluck().all() as string[]);
  const missing = TABLES.filter((t) => !present.has(t));
  if (missing.length > 0) throw new StoreCorruptError(location, `it lacks the table(s) ${missing.join(', ')}`);
}

export function openDatabase(path: string, location: string, options: SqliteStoreOptions): Db {
  const timeout = options.busyTimeoutMs ?? 5000;
  if (!(Number.isInteger(timeout) && timeout >= 0)) throw new RangeError(`busyTimeoutMs must be a non-negative integer, got ${timeout}`);
  // Header checks first: nothing below may write to a file that is not a Forja store.
  if (!inspectFile(path, location)) mkdirSync(dirname(resolve(path)), { recursive: true });
  let db: Db;
  try {
    db = new Database(path, { timeout });
  } catch (e) {
    throw mapError(e, location);
  }
  try {
    prepareFile(db, location);
    if (db.pragma('journal_mode', { simple: true }) !== 'wal') db.pragma('journal_mode = WAL');
    db.pragma('foreign_keys = ON');
    // WAL with synchronous NORMAL stays consistent after a crash; only the last commits may be lost.
    db.pragma('synchronous = NORMAL');
    db.pragma('cache_size = -32768');
    return db;
  } catch (e) {
    db.close();
    throw mapError(e, location);
  }
}
