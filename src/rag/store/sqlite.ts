/**
 * The embedded store: one SQLite file (better-sqlite3) in WAL mode, so one writer and many readers
 * share it. Writes take the write lock up front (BEGIN IMMEDIATE) and fail with StoreLockedError after
 * the busy timeout. BM25 statistics come from Forja's own term index (k1 and b are chosen above the
 * store); dense search is exact, over a float32 matrix cached in memory (./sqlite/vector-index.ts), or
 * goes through an HNSW graph once the store holds more than `exactSearchLimit` chunks (./sqlite/ann-index.ts).
 */
import Database from 'better-sqlite3';
import { StoreCorruptError } from '../errors.js';
import { exactSearchLimit, mergeSettings, sameSettings } from './settings.js';
import type {
  ChunkFilter,
  ChunkRecord,
  DocumentInput,
  LexicalStats,
  Store,
  StoreInfo,
  StoreSettings,
  TermPostings,
  VectorHit,
} from './types.js';
import { checkFilter, checkQueryVector, validateDocuments } from './validate.js';
import { Catalog, type CatalogDoc } from './sqlite/catalog.js';
import { type Db, mapError, openDatabase, type SqliteStoreOptions } from './sqlite/connection.js';
import { type IndexedChunk, TermIndex } from './sqlite/term-index.js';
import { ExactVectorIndex, type VectorIndex } from './sqlite/vector-index.js';
import { AnnIndexCache, checkAnnOptions } from './sqlite/ann-index.js';

export type { SqliteStoreOptions } from './sqlite/connection.js';

type Row = unknown[];

function toBlob(a: Float32Array | Int32Array): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

/** Blobs come back unaligned; copy before viewing them as 4-byte elements. */
function int32s(blob: Buffer): Int32Array {
  const out = new Int32Array(blob.byteLength >> 2);
  new Uint8Array(out.buffer).set(blob);
  return out;
}

function float32s(blob: Buffer): Float32Array {
  const out = new Float32Array(blob.byteLength >> 2);
  new Uint8Array(out.buffer).set(blob);
  return out;
}

function checkIds(ids: readonly number[], what: string): number[] {
  for (const id of ids) if (!Number.isSafeInteger(id)) throw new TypeError(`${what}: chunk id ${id} is not an integer`);
  return [...new Set(ids)];
}

function prepareStatements(db: Db) {
  const p = (sql: string) => db.prepare(sql);
  return {
    meta: p('SELECT value FROM meta WHERE key = ?').pluck(),
    setMeta: p('INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value'),
    bumpGeneration: p("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation'"),
    countDocs: p('SELECT count(*) FROM documents').pluck(),
    countChunks: p('SELECT count(*) FROM chunks').pluck(),
    listDocs: p('SELECT id, path, hash FROM documents ORDER BY id'),
    upsertDoc: p(
      'INSERT INTO documents(id, path, title, hash) VALUES (?, ?, ?, ?) ' +
        'ON CONFLICT(id) DO UPDATE SET path = excluded.path, title = excluded.title, hash = excluded.hash RETURNING key',
    ).pluck(),
    docKey: p('SELECT key FROM documents WHERE id = ?').pluck(),
    deleteDoc: p('DELETE FROM documents WHERE key = ?'),
    chunksOfDoc: p('SELECT id, term_ids FROM chunks WHERE doc = ?').raw(),
    deleteChunksOfDoc: p('DELETE FROM chunks WHERE doc = ?'),
    deleteFts: p('DELETE FROM chunks_fts WHERE rowid = ?'),
    insertChunk: p(
      'INSERT INTO chunks(doc, ordinal, page, length, start, "end", headings, term_ids, text, embedding) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    ),
    insertFts: p('INSERT INTO chunks_fts(rowid, text) VALUES (?, ?)'),
    catalogDocs: p('SELECT key, id, path FROM documents').raw(),
    catalogChunks: p('SELECT id, doc, page, length FROM chunks INDEXED BY chunks_doc').raw(),
    embeddings: p('SELECT id, embedding FROM chunks').raw(),
    chunkRecords: p(
      'SELECT c.id, d.id, d.path, d.title, c.ordinal, c.text, c.start, c."end", c.page, c.headings ' +
        'FROM json_each(?) j JOIN chunks c ON c.id = j.value JOIN documents d ON d.key = c.doc ORDER BY j.key',
    ).raw(),
    vectorsOf: p('SELECT c.id, c.embedding FROM json_each(?) j JOIN chunks c ON c.id = j.value WHERE c.embedding IS NOT NULL').raw(),
  };
}

export class SqliteStore implements Store {
  private readonly statements: ReturnType<typeof prepareStatements>;
  private closed = false;
  private catalogCache: Catalog | undefined;
  private vectorCache: { generation: number; index: VectorIndex } | undefined;
  private readonly terms: TermIndex;
  private readonly ann: AnnIndexCache;
  private readonly exactSearchLimit: number;

  private constructor(
    readonly location: string,
    private readonly db: Db,
    options: SqliteStoreOptions,
  ) {
    this.statements = prepareStatements(db);
    this.terms = new TermIndex(db);
    this.exactSearchLimit = exactSearchLimit(options, 20_000, 'SqliteStore');
    this.ann = new AnnIndexCache(db, location, options.hnsw ?? {});
  }

  /** Opens the store at `path`, creating the file (and its folder) when it does not exist. */
  static async open(path: string, options: SqliteStoreOptions = {}): Promise<SqliteStore> {
    if (typeof path !== 'string' || path.length === 0) throw new TypeError('SqliteStore.open: the path is empty');
    exactSearchLimit(options, 20_000, 'SqliteStore');
    checkAnnOptions(options.hnsw ?? {});
    const db = openDatabase(path, path, options);
    try {
      return new SqliteStore(path, db, options);
    } catch (e) {
      db.close();
      // The file passed every check, so failing to compile statements against it means a damaged schema.
      if (e instanceof Database.SqliteError && !e.code.startsWith('SQLITE_BUSY')) throw new StoreCorruptError(path, `its schema is damaged (${e.message})`, { cause: e });
      throw mapError(e, path);
    }
  }

  async info(): Promise<StoreInfo> {
    return this.read(() => {
      const s = this.statements;
      return {
        // An unbound store has no analyzer yet.
        ...(this.settings() ?? { analyzer: '' }),
        location: this.location,
        documents: s.countDocs.get() as number,
        chunks: s.countChunks.get() as number,
      };
    });
  }

  async bind(settings: StoreSettings): Promise<void> {
    // Decide without the write lock: readers of an already-bound store never wait for a writer.
    const current = this.read(() => this.settings());
    const hasChunks = () => (this.statements.countChunks.get() as number) > 0;
    const merged = this.read(() => mergeSettings(this.location, current, settings, hasChunks()));
    if (current !== undefined && sameSettings(current, merged)) return;
    this.write(() => {
      const now = this.settings();
      const next = mergeSettings(this.location, now, settings, hasChunks());
      if (now === undefined || !sameSettings(now, next)) this.statements.setMeta.run('settings', JSON.stringify(next));
    });
  }

  async documents(): Promise<{ id: string; path: string; hash: string }[]> {
    return this.read(() => this.statements.listDocs.all() as { id: string; path: string; hash: string }[]);
  }

  async writeDocuments(docs: readonly DocumentInput[]): Promise<void> {
    this.ensureOpen();
    if (docs.length === 0) return;
    const s = this.statements;
    this.write(() => {
      validateDocuments(this.location, docs, this.settings());
      const removed: IndexedChunk[] = [];
      for (const doc of docs) {
        const key = s.upsertDoc.get(doc.id, doc.path, doc.title ?? null, doc.hash) as number;
        this.removeChunks(key, removed);
        for (const chunk of doc.chunks) {
          const termIds = new Int32Array(chunk.terms.size);
          let length = 0;
          let i = 0;
          for (const [term, tf] of chunk.terms) {
            termIds[i++] = this.terms.idForWrite(term);
            length += tf;
          }
          const id = Number(
            s.insertChunk.run(
              key,
              chunk.ordinal,
              chunk.page ?? null,
              length,
              chunk.start,
              chunk.end,
              JSON.stringify(chunk.headings),
              toBlob(termIds),
              chunk.text,
              chunk.vector ? toBlob(chunk.vector) : null,
            ).lastInsertRowid,
          );
          s.insertFts.run(id, chunk.text);
          this.terms.add(id, termIds, chunk.terms.values(), length);
        }
      }
      this.terms.remove(removed);
      this.terms.flush();
    });
  }

  async deleteDocuments(ids: readonly string[]): Promise<void> {
    this.ensureOpen();
    if (ids.length === 0) return;
    const s = this.statements;
    this.write(() => {
      const removed: IndexedChunk[] = [];
      for (const id of ids) {
        const key = s.docKey.get(id) as number | undefined;
        if (key === undefined) continue;
        this.removeChunks(key, removed);
        s.deleteDoc.run(key);
      }
      this.terms.remove(removed);
    });
  }

  async lexicalStats(terms: readonly string[], filter?: ChunkFilter): Promise<LexicalStats> {
    checkFilter(filter);
    for (const t of terms) if (typeof t !== 'string') throw new TypeError(`lexicalStats: term ${String(t)} is not a string`);
    return this.read(() => {
      const catalog = this.catalog();
      const mask = catalog.select(filter);
      const { count, length } = catalog.totals(mask);
      const keep = mask && ((chunkId: number) => {
        const r = catalog.row(chunkId);
        return r !== undefined && mask[r] === 1;
      });
      const found: string[] = [];
      const termIds: number[] = [];
      for (const term of new Set(terms)) {
        const termId = this.terms.lookup(term);
        if (termId === undefined) continue;
        found.push(term);
        termIds.push(termId);
      }
      const postings = new Map<string, TermPostings>();
      this.terms.postings(termIds, keep).forEach((list, i) => {
        if (list.chunkIds.length > 0) postings.set(found[i]!, list);
      });
      return { chunkCount: count, averageLength: count > 0 ? length / count : 0, postings };
    });
  }

  async vectorSearch(query: Float32Array, k: number, filter?: ChunkFilter): Promise<VectorHit[]> {
    checkFilter(filter);
    const hits = this.read(() => {
      const settings = this.settings();
      checkQueryVector(this.location, query, k, settings);
      const catalog = this.catalog();
      if (k === 0 || catalog.size === 0) return [];
      return this.vectorIndex(catalog, settings!.dimension!).search(query, k, catalog.select(filter));
    });
    this.ann.persist();
    return hits;
  }

  async chunks(ids: readonly number[]): Promise<ChunkRecord[]> {
    const wanted = checkIds(ids, 'chunks');
    if (wanted.length === 0) return [];
    return this.read(() =>
      (this.statements.chunkRecords.all(JSON.stringify(wanted)) as Row[]).map((r) => {
        const [id, docId, path, title, ordinal, text, start, end, page, headings] = r as [
          number, string, string, string | null, number, string, number, number, number | null, string,
        ];
        const rec: ChunkRecord = { id, docId, path, ordinal, text, start, end, headings: JSON.parse(headings) as string[] };
        if (title !== null) rec.title = title;
        if (page !== null) rec.page = page;
        return rec;
      }),
    );
  }

  async vectors(ids: readonly number[]): Promise<Map<number, Float32Array>> {
    const wanted = checkIds(ids, 'vectors');
    const out = new Map<number, Float32Array>();
    if (wanted.length === 0) return out;
    return this.read(() => {
      for (const [id, blob] of this.statements.vectorsOf.all(JSON.stringify(wanted)) as [number, Buffer][]) out.set(id, float32s(blob));
      return out;
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.catalogCache = undefined;
    this.vectorCache = undefined;
    this.db.close();
  }

  private ensureOpen(): void {
    if (this.closed) throw new Error(`${this.location}: the store is closed`);
  }

  /** One read transaction: every statement in `fn` sees the same snapshot. */
  private read<T>(fn: () => T): T {
    this.ensureOpen();
    try {
      return this.db.transaction(fn)();
    } catch (e) {
      throw mapError(e, this.location);
    }
  }

  /** One write transaction holding the write lock from its start; every write advances the generation. */
  private write(fn: () => void): void {
    this.ensureOpen();
    try {
      this.db
        .transaction(() => {
          fn();
          this.statements.bumpGeneration.run();
        })
        .immediate();
    } catch (e) {
      this.terms.rollback();
      throw mapError(e, this.location);
    }
  }

  private settings(): StoreSettings | undefined {
    const raw = this.statements.meta.get('settings') as string | undefined;
    if (raw === undefined) return undefined;
    try {
      return JSON.parse(raw) as StoreSettings;
    } catch {
      throw new StoreCorruptError(this.location, 'its recorded settings are not JSON');
    }
  }

  /** Deletes a document's chunks and phrase-index rows; their postings go in one pass at the end. */
  private removeChunks(docKey: number, removed: IndexedChunk[]): void {
    const s = this.statements;
    for (const [id, blob] of s.chunksOfDoc.all(docKey) as [number, Buffer][]) {
      removed.push({ id, termIds: int32s(blob) });
      s.deleteFts.run(id);
    }
    s.deleteChunksOfDoc.run(docKey);
  }

  /** Call inside a read transaction. */
  private catalog(): Catalog {
    const generation = Number(this.statements.meta.get('generation'));
    if (this.catalogCache?.generation === generation) return this.catalogCache;
    const docs: CatalogDoc[] = [];
    const docIndex = new Map<number, number>();
    for (const [key, id, path] of this.statements.catalogDocs.all() as [number, string, string][]) {
      docIndex.set(key, docs.length);
      docs.push({ id, path });
    }
    const rows = (this.statements.catalogChunks.all() as [number, number, number | null, number][]).map(
      ([id, doc, page, length]) => [id, docIndex.get(doc)!, page, length] as const,
    );
    this.catalogCache = new Catalog(generation, docs, rows);
    return this.catalogCache;
  }

  /** Call inside a read transaction, with the catalog of the same snapshot. */
  private vectorIndex(catalog: Catalog, dimension: number): VectorIndex {
    if (catalog.size > this.exactSearchLimit) {
      this.vectorCache = undefined;
      return this.ann.index(catalog, dimension);
    }
    if (this.vectorCache?.generation === catalog.generation) return this.vectorCache.index;
    const matrix = new Float32Array(catalog.size * dimension);
    const bytes = new Uint8Array(matrix.buffer);
    for (const [id, blob] of this.statements.embeddings.iterate() as IterableIterator<[number, Buffer | null]>) {
      const r = catalog.row(id);
      if (r === undefined || blob === null) continue;
      if (blob.byteLength !== dimension * 4) {
        throw new StoreCorruptError(this.location, `chunk ${id} has a vector of ${blob.byteLength} bytes, not ${dimension} float32s`);
      }
      bytes.set(blob, r * dimension * 4);
    }
    const index = new ExactVectorIndex(catalog.ids, matrix, dimension);
    this.vectorCache = { generation: catalog.generation, index };
    return index;
  }
}
