/** The bind() rule every backend shares: what a store was built with, and what it refuses. */
import { StoreMismatchError } from '../errors.js';
import type { StoreSettings } from './types.js';

const KEYS = ['analyzer', 'embedModel', 'dimension', 'chunkSize', 'overlap'] as const;

function checkSettings(s: StoreSettings): void {
  if (typeof s.analyzer !== 'string' || s.analyzer.length === 0) {
    throw new TypeError(`store settings: analyzer must be a non-empty string, got ${JSON.stringify(s.analyzer)}`);
  }
  if (s.embedModel !== undefined && (typeof s.embedModel !== 'string' || s.embedModel.length === 0)) {
    throw new TypeError(`store settings: embedModel must be a non-empty string, got ${JSON.stringify(s.embedModel)}`);
  }
  for (const key of ['dimension', 'chunkSize'] as const) {
    const v = s[key];
    if (v !== undefined && !(Number.isInteger(v) && v > 0)) {
      throw new RangeError(`store settings: ${key} must be a positive integer, got ${v}`);
    }
  }
  if (s.overlap !== undefined && !(Number.isInteger(s.overlap) && s.overlap >= 0)) {
    throw new RangeError(`store settings: overlap must be a non-negative integer, got ${s.overlap}`);
  }
}

function checkPaired(s: StoreSettings): StoreSettings {
  if ((s.embedModel === undefined) !== (s.dimension === undefined)) {
    throw new TypeError('store settings: a store records embedModel and dimension together; got only one of them');
  }
  return s;
}

/** The defined fields of `s`, in a fixed order, so that equal settings serialize equally. */
export function normalizeSettings(s: StoreSettings): StoreSettings {
  const out: Record<string, string | number> = {};
  for (const key of KEYS) {
    const v = s[key];
    if (v !== undefined) out[key] = v;
  }
  return out as unknown as StoreSettings;
}

/**
 * The settings a store holds after bind(requested). Fields the request leaves undefined are not compared.
 * A field the store lacks is recorded while the store holds no chunks; afterwards it is refused (stored
 * 'none'), since the chunks already written were built without it.
 */
export function mergeSettings(
  location: string,
  stored: StoreSettings | undefined,
  requested: StoreSettings,
  hasChunks: boolean,
): StoreSettings {
  checkSettings(requested);
  if (stored === undefined) return checkPaired(normalizeSettings(requested));
  const merged: Record<string, string | number | undefined> = { ...stored };
  for (const key of KEYS) {
    const want = requested[key];
    if (want === undefined) continue;
    const have = stored[key];
    if (have === undefined) {
      if (hasChunks) throw new StoreMismatchError(location, key, 'none', want);
      merged[key] = want;
    } else if (have !== want) {
      throw new StoreMismatchError(location, key, have, want);
    }
  }
  return checkPaired(normalizeSettings(merged as unknown as StoreSettings));
}

export function sameSettings(a: StoreSettings, b: StoreSettings): boolean {
  return KEYS.every((k) => a[k] === b[k]);
}

/** How a store opened by either backend chooses between exact and approximate (HNSW) dense search. */
export interface VectorSearchOptions {
  /**
   * Selections of at most this many chunks are searched exactly, larger ones through an HNSW index
   * (built when the store first holds more). Defaults: 20,000 for SQLite, 10,000 for PostgreSQL.
   */
  exactSearchLimit?: number;
  /**
   * The SQLite store's old name: HNSW from this many chunks on, so `exactSearchLimit` is one less.
   * @deprecated use exactSearchLimit.
   */
  annThreshold?: number;
}

/** The exact-search limit `options` ask for, or `fallback`; `who` names the backend in errors. */
export function exactSearchLimit(options: VectorSearchOptions, fallback: number, who: string): number {
  const { exactSearchLimit: limit, annThreshold: old } = options;
  const check = (name: string, v: number) => {
    if (!(Number.isInteger(v) && v >= 0)) throw new RangeError(`${who}: ${name} must be a non-negative integer, got ${v}`);
  };
  if (limit !== undefined) check('exactSearchLimit', limit);
  if (old !== undefined) check('annThreshold', old);
  if (limit !== undefined && old !== undefined && limit !== Math.max(0, old - 1)) {
    throw new TypeError(`${who}: exactSearchLimit ${limit} and annThreshold ${old} (its old name, one more) disagree; give exactSearchLimit only`);
  }
  return limit ?? (old !== undefined ? Math.max(0, old - 1) : fallback);
}
