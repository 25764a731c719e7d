/**
 * Forja's cache of derived files (decoded datasets, ONNX Runtime's optimized models): $FORJA_CACHE, else
 * ~/.cache/forja. Every entry can be rebuilt from its sources, so a missing, torn or altered entry is only a miss:
 * entries are written atomically and carry a SHA-256 of their payload, checked on every read.
 *
 * Off unless a program turns it on with `setCacheEnabled(true)` (the `forja` command does), so library users and
 * tests never write into the home directory unasked. FORJA_NO_CACHE (anything but '' or '0') turns it off anyway.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from './atomic.js';

const MAGIC = Buffer.from('FORJACE1');
const HEADER = MAGIC.length + 32;

/** The cache's root directory: $FORJA_CACHE, else ~/.cache/forja. */
export function cacheRoot(): string {
  return process.env.FORJA_CACHE || join(homedir(), '.cache', 'forja');
}

let enabled = false;

/** Turn the cache on or off for this process. */
export function setCacheEnabled(on: boolean): void {
  enabled = on;
}

/** Whether cache entries are read and written: turned on, and FORJA_NO_CACHE unset, empty or '0'. */
export function cacheEnabled(): boolean {
  const off = process.env.FORJA_NO_CACHE;
  return enabled && (off === undefined || off === '' || off === '0');
}

/** A cache key: the hex SHA-256 of the parts, in order (strings as UTF-8, bytes as they are). */
export function cacheKey(...parts: readonly (string | ArrayBufferView)[]): string {
  const hash = createHash('sha256');
  for (const part of parts) {
    const bytes = typeof part === 'string' ? Buffer.from(part) : new Uint8Array(part.buffer, part.byteOffset, part.byteLength);
    // Length-prefixed, so ['ab', 'c'] and ['a', 'bc'] differ.
    hash.update(`${bytes.byteLength}:`).update(bytes);
  }
  return hash.digest('hex');
}

function entryPath(kind: string, key: string): string {
  if (!/^[a-z0-9-]+$/.test(kind) || !/^[a-z0-9-]+$/i.test(key)) throw new Error(`cache: bad entry name '${kind}/${key}'`);
  return join(cacheRoot(), kind, `${key}.bin`);
}

export interface CacheRead {
  /** The stored payload; undefined on a miss. */
  payload?: Uint8Array;
  /** An entry was there but is unreadable or fails its checksum (it will be rewritten). */
  corrupt: boolean;
}

/** The entry `kind/key`, checked against its SHA-256. Synchronous, for synchronous loaders. */
export function readCacheEntry(kind: string, key: string): CacheRead {
  const path = entryPath(kind, key);
  if (!cacheEnabled()) return { corrupt: false };
  let file: Buffer;
  try {
    file = readFileSync(path);
  } catch (err) {
    return { corrupt: (err as NodeJS.ErrnoException).code !== 'ENOENT' };
  }
  const payload = file.subarray(HEADER);
  const ok = file.length >= HEADER && file.subarray(0, MAGIC.length).equals(MAGIC) &&
    createHash('sha256').update(payload).digest().equals(file.subarray(MAGIC.length, HEADER));
  return ok ? { payload, corrupt: false } : { corrupt: true };
}

/** Store `payload` as `kind/key` (atomically; replaces an older or corrupt entry). No-op when the cache is off. */
export async function writeCacheEntry(kind: string, key: string, payload: ArrayBufferView | readonly ArrayBufferView[]): Promise<void> {
  const path = entryPath(kind, key);
  if (!cacheEnabled()) return;
  const chunks = (Array.isArray(payload) ? payload : [payload]) as readonly ArrayBufferView[];
  const hash = createHash('sha256');
  for (const c of chunks) hash.update(new Uint8Array(c.buffer, c.byteOffset, c.byteLength));
  await writeFileAtomic(path, [MAGIC, hash.digest(), ...chunks]);
}
