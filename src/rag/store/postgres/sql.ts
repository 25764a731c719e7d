/** SQL pieces the PostgreSQL store's reads and writes share: filters, vector encoding, list parsing. */
import { globToRegExpSource } from '../glob.js';
import type { ChunkFilter, DocumentInput } from '../types.js';

/**
 * The condition on `c` (a chunks row) that `filter` asks for, with its values appended to `params`;
 * undefined when the filter restricts nothing. The path glob becomes a regular expression that
 * PostgreSQL's `~` reads as JavaScript does (../glob.ts), passed as a parameter, never spliced in.
 */
export function filterCondition(filter: ChunkFilter | undefined, s: string, params: unknown[]): string | undefined {
  if (!filter) return undefined;
  const conds: string[] = [];
  const docConds: string[] = [];
  if (filter.pathGlob !== undefined) {
    params.push(globToRegExpSource(filter.pathGlob));
    docConds.push(`d.path ~ $${params.length}`);
  }
  if (filter.docIds !== undefined) {
    params.push([...filter.docIds]);
    docConds.push(`d.id = ANY($${params.length}::text[])`);
  }
  // ARRAY(subquery) runs once, so the chunks scan tests a list of document keys.
  if (docConds.length > 0) conds.push(`c.doc = ANY (ARRAY(SELECT d.key FROM ${s}.documents d WHERE ${docConds.join(' AND ')}))`);
  if (filter.pages !== undefined) {
    // Also excludes chunks without a page (NULL never compares true).
    params.push(filter.pages.from ?? 1);
    conds.push(`c.page >= $${params.length}`);
    if (filter.pages.to !== undefined) {
      params.push(filter.pages.to);
      conds.push(`c.page <= $${params.length}`);
    }
  }
  return conds.length > 0 ? conds.join(' AND ') : undefined;
}

/** pgvector's binary `vector` format: int16 dimension, int16 unused, then big-endian float32s. */
export function encodeVector(v: Float32Array): Buffer {
  const out = Buffer.allocUnsafe(4 + 4 * v.length);
  out.writeInt16BE(v.length, 0);
  out.writeInt16BE(0, 2);
  for (let i = 0; i < v.length; i++) out.writeFloatBE(v[i]!, 4 + 4 * i);
  return out;
}

/** pgvector's text output, `[0.1,2e-05,...]`, which is valid JSON. */
export function parseVector(text: string): Float32Array {
  return Float32Array.from(JSON.parse(text) as number[]);
}

/**
 * A `string_agg(..., ',')` of non-negative integers, parsed into a typed array without splitting the
 * text into strings; undefined if it holds anything else.
 */
export function parseIntArray<T extends Float64Array | Uint32Array>(text: string, make: new (n: number) => T): T | undefined {
  let n = 1;
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 44) n++;
  const out = new make(n);
  let k = 0;
  let v = 0;
  let digits = 0;
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text.charCodeAt(i) : 44;
    if (c === 44) {
      if (digits === 0) return undefined;
      out[k++] = v;
      v = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      v = v * 10 + (c - 48);
      digits++;
    } else {
      return undefined;
    }
  }
  return out;
}

/** PostgreSQL text cannot hold U+0000, which SQLite stores; refuse it before the server does, naming where. */
export function checkStorableText(docs: readonly DocumentInput[]): void {
  const bad = (s: string | undefined) => s !== undefined && s.includes('\0');
  for (const doc of docs) {
    const where = `document ${JSON.stringify(doc.id.replace(/\0/g, '\\0'))}`;
    for (const key of ['id', 'path', 'title', 'hash'] as const) {
      if (bad(doc[key])) throw new TypeError(`${where}: ${key} contains a NUL character, which PostgreSQL text cannot hold`);
    }
    for (const chunk of doc.chunks) {
      const at = `${where}, chunk ${chunk.ordinal}`;
      if (bad(chunk.text)) throw new TypeError(`${at}: text contains a NUL character, which PostgreSQL text cannot hold`);
      if (chunk.headings.some(bad)) throw new TypeError(`${at}: a heading contains a NUL character, which PostgreSQL text cannot hold`);
      for (const term of chunk.terms.keys()) {
        if (bad(term)) throw new TypeError(`${at}: a term contains a NUL character, which PostgreSQL text cannot hold`);
      }
    }
  }
}

/** Splits `items` into slices of at most `size`. */
export function* slices<T>(items: readonly T[], size: number): Generator<T[]> {
  for (let i = 0; i < items.length; i += size) yield items.slice(i, i + size);
}
