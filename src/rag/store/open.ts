/** `createStore(location)`: a PostgreSQL URL opens the PostgreSQL backend, anything else a SQLite file. */
import { SqliteStore, type SqliteStoreOptions } from './sqlite.js';
import type { Store } from './types.js';

export type StoreOptions = SqliteStoreOptions;

export function isPostgresUrl(location: string): boolean {
  return /^postgres(?:ql)?:\/\//i.test(location);
}

/** The URL without its password, for messages and `Store.location`. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password === '') return url;
    u.password = '';
    return u.toString();
  } catch {
    return url.replace(/^([a-z]+:\/\/[^:/@]*):[^@]*@/i, '$1@');
  }
}

export async function createStore(location: string, options: StoreOptions = {}): Promise<Store> {
  if (typeof location !== 'string' || location.trim().length === 0) throw new TypeError('createStore: the store location is empty');
  if (isPostgresUrl(location)) return openPostgres(location, options);
  return SqliteStore.open(location, options);
}

// A lazy import, so SQLite users never load `pg`. busyTimeoutMs means the same there: how long a write
// waits for another writer; exactSearchLimit (or its old name) is shared.
async function openPostgres(url: string, options: StoreOptions): Promise<Store> {
  const { PostgresStore } = await import('./postgres.js');
  const { busyTimeoutMs, exactSearchLimit, annThreshold } = options;
  return PostgresStore.open(url, { lockTimeoutMs: busyTimeoutMs, exactSearchLimit, annThreshold });
}
