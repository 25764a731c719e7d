/**
 * The scale-out store: PostgreSQL with pgvector, through `pg`, in plain SQL (no server-specific calls), so
 * a managed cluster, a replica set or PGlite's socket server take the same code. Each store is one schema
 * (`?schema=`, default `forja`). Writes are transactions holding an advisory lock, so one writer runs at a
 * time; reads see one snapshot. BM25 statistics come from Forja's own term index, as in the SQLite store.
 * Dense search is exact (pgvector's `<=>` over float32) for small selections and HNSW over halfvec beyond.
 */
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
import { Connection, type Query } from './postgres/connection.js';
import {
  addEmbeddingColumn,
  createVectorIndex,
  embeddingState,
  findVectorExtension,
  HNSW_MAX_DIMENSION,
  prepareSchema,
  type VectorExtension,
} from './postgres/schema.js';
import { checkStorableText, encodeVector, filterCondition, parseIntArray, parseVector } from './postgres/sql.js';
import { parseStoreUrl, quoteIdent } from './postgres/url.js';
import { addTotals, insertChunks, removeChunks, upsertDocuments } from './postgres/write.js';

export { redactPostgresUrl } from './postgres/url.js';

export interface PostgresStoreOptions {
  /** The schema holding the store's tables; overrides the URL's `?schema=`. Default `forja`. */
  schema?: string;
  /** How long a write waits for another writer before StoreLockedError; default 5000 ms. */
  lockTimeoutMs?: number;
  /** How long connecting may take before StoreUnreachableError; default 5000 ms. */
  connectTimeoutMs?: number;
  /** The pool's size; default 4. */
  maxConnections?: number;
  /**
   * Selections of at most this many chunks are searched exactly, larger ones through HNSW. The index is
   * built by the first write that leaves more chunks than this in the store. Default 10,000.
   */
  exactSearchLimit?: number;
  /** @deprecated the SQLite store's old name for exactSearchLimit + 1. */
  annThreshold?: number;
}

interface MetaState {
  settings: StoreSettings | undefined;
  chunkCount: number;
  totalLength: number;
}

interface VectorState {
  ext: VectorExtension;
  dimension: number;
  index: boolean;
}

/**
 * hnsw.ef_search: pgvector's default is 40; 100 costs little over the wire and lifts recall@10 on
 * structureless (uniform random) 384-d vectors from 0.66 to 0.90. 1000 is pgvector's maximum.
 */
const EF_SEARCH_MIN = 100;
const EF_SEARCH_MAX = 1000;
/** pgvector's default hnsw.max_scan_tuples; raised for selective filters. */
const MAX_SCAN_TUPLES = 20_000;

function checkOption(name: string, v: number | undefined, fallback: number, min: number): number {
  if (v === undefined) return fallback;
  if (!(Number.isInteger(v) && v >= min)) throw new RangeError(`PostgresStore: ${name} must be an integer >= ${min}, got ${v}`);
  return v;
}

function checkIds(ids: readonly number[], what: string): number[] {
  for (const id of ids) if (!Number.isSafeInteger(id)) throw new TypeError(`${what}: chunk id ${id} is not an integer`);
  return [...new Set(ids)];
}

export class PostgresStore implements Store {
  private closed = false;
  private vectorState: VectorState | undefined;
  /** The schema, quoted for SQL. */
  private readonly s: string;

  private constructor(
    readonly location: string,
    private readonly schema: string,
    private readonly conn: Connection,
    private readonly exactSearchLimit: number,
  ) {
    this.s = quoteIdent(schema);
  }

  /** Connects to `url` and opens the store in its schema, creating the tables when the schema is new. */
  static async open(url: string, options: PostgresStoreOptions = {}): Promise<PostgresStore> {
    if (typeof url !== 'string' || url.length === 0) throw new TypeError('PostgresStore.open: the URL is empty');
    const { location, connectionString, schema } = parseStoreUrl(url, options.schema);
    const conn = new Connection(location, connectionString, schema, {
      connectTimeoutMs: checkOption('connectTimeoutMs', options.connectTimeoutMs, 5000, 1),
      lockTimeoutMs: checkOption('lockTimeoutMs', options.lockTimeoutMs, 5000, 0),
      maxConnections: checkOption('maxConnections', options.maxConnections, 4, 1),
    });
    const limit = exactSearchLimit(options, 10_000, 'PostgresStore');
    try {
      await prepareSchema(conn, schema);
    } catch (e) {
      await conn.close();
      throw e;
    }
    return new PostgresStore(location, schema, conn, limit);
  }

  async info(): Promise<StoreInfo> {
    this.ensureOpen();
    const s = this.s;
    const [[settings, documents, chunks]] = (await this.conn.query(
      `SELECT (SELECT value FROM ${s}.meta WHERE key = 'settings'), (SELECT count(*) FROM ${s}.documents),
              (SELECT value FROM ${s}.meta WHERE key = 'chunk_count')`,
    )) as [[string | null, string, string]];
    return {
      // An unbound store has no analyzer yet.
      ...(this.parseSettings(settings) ?? { analyzer: '' }),
      location: this.location,
      documents: Number(documents),
      chunks: Number(chunks),
    };
  }

  async bind(settings: StoreSettings): Promise<void> {
    this.ensureOpen();
    // Decide without the write lock: readers of an already-bound store never wait for a writer.
    const current = await this.meta((t, v) => this.conn.query(t, v));
    const merged = mergeSettings(this.location, current.settings, settings, current.chunkCount > 0);
    if (current.settings !== undefined && sameSettings(current.settings, merged)) return;
    await this.conn.write(async (q) => {
      const now = await this.meta(q);
      const next = mergeSettings(this.location, now.settings, settings, now.chunkCount > 0);
      if (now.settings !== undefined && sameSettings(now.settings, next)) return;
      if (next.dimension !== undefined && now.settings?.dimension === undefined) {
        if (!(await embeddingState(q, this.schema)).column) await addEmbeddingColumn(q, this.location, this.schema, next.dimension);
      }
      await q(
        `INSERT INTO ${this.s}.meta(key, value) VALUES ('settings', $1) ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
        [JSON.stringify(next)],
      );
    });
  }

  async documents(): Promise<{ id: string; path: string; hash: string }[]> {
    this.ensureOpen();
    // Byte order, as SQLite's, whatever the database's collation.
    const rows = await this.conn.query(`SELECT id, path, hash FROM ${this.s}.documents ORDER BY id COLLATE "C"`);
    return rows.map(([id, path, hash]) => ({ id: id as string, path: path as string, hash: hash as string }));
  }

  async writeDocuments(docs: readonly DocumentInput[]): Promise<void> {
    this.ensureOpen();
    if (docs.length === 0) return;
    const s = this.s;
    await this.conn.write(async (q) => {
      const meta = await this.meta(q);
      validateDocuments(this.location, docs, meta.settings);
      checkStorableText(docs);
      const dimension = meta.settings!.dimension;
      const vector = dimension === undefined ? undefined : await this.vectorInfo(q, dimension, true);
      const keys = await upsertDocuments(q, s, docs);
      const removed = await removeChunks(q, s, [...keys.values()]);
      const added = await insertChunks(q, s, vector && `${quoteIdent(vector.ext.schema)}.vector`, docs, keys);
      await addTotals(q, s, added.count - removed.count, added.length - removed.length);
      const chunks = meta.chunkCount + added.count - removed.count;
      if (vector && !vector.index && chunks > this.exactSearchLimit && dimension! <= HNSW_MAX_DIMENSION) {
        await createVectorIndex(q, this.schema, vector.ext, dimension!);
        // Known once committed.
        this.vectorState = undefined;
      }
    });
  }

  async deleteDocuments(ids: readonly string[]): Promise<void> {
    this.ensureOpen();
    if (ids.length === 0) return;
    for (const id of ids) if (typeof id !== 'string') throw new TypeError(`deleteDocuments: document id ${String(id)} is not a string`);
    const s = this.s;
    await this.conn.write(async (q) => {
      const keys = (await q(`SELECT key FROM ${s}.documents WHERE id = ANY($1::text[])`, [[...ids]])).map((r) => r[0] as string);
      if (keys.length === 0) return;
      const removed = await removeChunks(q, s, keys);
      await q(`DELETE FROM ${s}.documents WHERE key = ANY($1::int8[])`, [keys]);
      await addTotals(q, s, -removed.count, -removed.length);
    });
  }

  async lexicalStats(terms: readonly string[], filter?: ChunkFilter): Promise<LexicalStats> {
    this.ensureOpen();
    checkFilter(filter);
    for (const t of terms) if (typeof t !== 'string') throw new TypeError(`lexicalStats: term ${String(t)} is not a string`);
    const s = this.s;
    const unique = [...new Set(terms)];
    const params: unknown[] = [unique];
    const cond = filterCondition(filter, s, params);
    // One statement, so the totals and the postings come from one snapshot. The postings are read per
    // term (LATERAL), so each is one range of the primary key whatever the planner's statistics say.
    // `IN (...) IS TRUE` keeps the filter a hashed subplan, built once, rather than a semi-join that
    // probes each term's postings once per selected chunk.
    const rows = await this.conn.query(
      `WITH ${
        cond
          ? `sel AS (SELECT c.id, c.length FROM ${s}.chunks c WHERE ${cond}),
             stats AS (SELECT count(*) AS n, coalesce(sum(length), 0) AS total FROM sel)`
          : `stats AS (SELECT (SELECT value::int8 FROM ${s}.meta WHERE key = 'chunk_count') AS n,
                              (SELECT value::int8 FROM ${s}.meta WHERE key = 'total_length') AS total)`
      },
       lists AS (
         SELECT t.term, x.ids, x.tfs, x.lengths
           FROM ${s}.terms t CROSS JOIN LATERAL (
             SELECT string_agg(p.chunk_id::text, ',' ORDER BY p.chunk_id) AS ids,
                    string_agg(p.tf::text, ',' ORDER BY p.chunk_id) AS tfs,
                    string_agg(p.length::text, ',' ORDER BY p.chunk_id) AS lengths
               FROM ${s}.postings p
              WHERE p.term_id = t.id ${cond ? 'AND (p.chunk_id IN (SELECT id FROM sel)) IS TRUE' : ''}) x
          WHERE t.term = ANY($1::text[]) AND x.ids IS NOT NULL)
     SELECT stats.n, stats.total, lists.term, lists.ids, lists.tfs, lists.lengths FROM stats LEFT JOIN lists ON true`,
      params,
    );
    const count = Number(rows[0]![0]);
    const total = Number(rows[0]![1]);
    const found = new Map<string, TermPostings>();
    for (const [, , term, ids, tfs, lengths] of rows as [unknown, unknown, string | null, string, string, string][]) {
      if (term === null) continue;
      const list = { chunkIds: parseIntArray(ids, Float64Array), tfs: parseIntArray(tfs, Uint32Array), lengths: parseIntArray(lengths, Uint32Array) };
      const n = list.chunkIds?.length;
      if (list.chunkIds === undefined || list.tfs?.length !== n || list.lengths?.length !== n) {
        throw new StoreCorruptError(this.location, `the postings of term ${JSON.stringify(term)} are not lists of non-negative integers of one length`);
      }
      found.set(term, list as TermPostings);
    }
    const postings = new Map<string, TermPostings>();
    for (const term of unique) {
      const list = found.get(term);
      if (list !== undefined) postings.set(term, list);
    }
    return { chunkCount: count, averageLength: count > 0 ? total / count : 0, postings };
  }

  async vectorSearch(query: Float32Array, k: number, filter?: ChunkFilter): Promise<VectorHit[]> {
    this.ensureOpen();
    checkFilter(filter);
    const s = this.s;
    return this.conn.read(async (q) => {
      const meta = await this.meta(q);
      checkQueryVector(this.location, query, k, meta.settings);
      if (k === 0 || meta.chunkCount === 0) return [];
      const state = await this.vectorInfo(q, meta.settings!.dimension!, meta.chunkCount > this.exactSearchLimit);
      const v = quoteIdent(state.ext.schema);
      const params: unknown[] = [encodeVector(query)];
      const cond = filterCondition(filter, s, params);
      let selected = meta.chunkCount;
      if (cond) {
        // Counted up to the exact-search limit: enough to choose between exact and HNSW.
        const countParams: unknown[] = [];
        const countCond = filterCondition(filter, s, countParams);
        const [[n]] = (await q(
          `SELECT count(*) FROM (SELECT 1 FROM ${s}.chunks c WHERE ${countCond} LIMIT ${this.exactSearchLimit + 1}) x`,
          countParams,
        )) as [[string]];
        selected = Number(n);
        if (selected === 0) return [];
      }
      const distance = (e: string) => `coalesce(nullif(${v}.cosine_distance(${e}, $1::${v}.vector), 'NaN'), 1)`;
      const where = cond ? `WHERE ${cond}` : '';
      params.push(k);
      const limit = `$${params.length}`;
      const exact = !state.index || selected <= this.exactSearchLimit || (!state.ext.iterativeScan && (cond !== undefined || k > EF_SEARCH_MAX));
      let rows;
      if (exact) {
        rows = await q(`SELECT c.id, ${distance('c.embedding')} AS distance FROM ${s}.chunks c ${where} ORDER BY distance, c.id LIMIT ${limit}`, params);
      } else {
        const ef = Math.min(EF_SEARCH_MAX, Math.max(EF_SEARCH_MIN, 2 * k));
        // Filters drop candidates after the graph search; an iterative scan keeps searching until k pass,
        // over at most enough tuples to find k at the selection's density.
        const scanTuples = Math.min(2 ** 31 - 1, Math.max(MAX_SCAN_TUPLES, Math.ceil((4 * k * meta.chunkCount) / selected)));
        // The selection is too big to scan exactly, which is what a sequential scan would do.
        await q(
          "SELECT set_config('enable_seqscan', 'off', true), set_config('hnsw.ef_search', $1, true)" +
            (state.ext.iterativeScan
              ? ", set_config('hnsw.iterative_scan', 'relaxed_order', true), set_config('hnsw.max_scan_tuples', $2, true)"
              : ''),
          state.ext.iterativeScan ? [String(ef), String(scanTuples)] : [String(ef)],
        );
        const half = `${v}.halfvec(${state.dimension})`;
        // The HNSW index orders by half precision; the scores are recomputed from the float32 column.
        rows = await q(
          `WITH hits AS MATERIALIZED (
             SELECT c.id, c.embedding FROM ${s}.chunks c ${where}
              ORDER BY c.embedding::${half} OPERATOR(${v}.<=>) ($1::${v}.vector)::${half} LIMIT ${limit})
           SELECT id, ${distance('embedding')} FROM hits`,
          params,
        );
      }
      const hits = (rows as [string, number][]).map(([id, d]) => ({ chunkId: Number(id), score: 1 - d }));
      return hits.sort((a, b) => b.score - a.score || a.chunkId - b.chunkId);
    });
  }

  async chunks(ids: readonly number[]): Promise<ChunkRecord[]> {
    this.ensureOpen();
    const wanted = checkIds(ids, 'chunks');
    if (wanted.length === 0) return [];
    const s = this.s;
    const rows = await this.conn.query(
      `SELECT c.id, d.id, d.path, d.title, c.ordinal, c.text, c.start, c."end", c.page, c.headings
         FROM unnest($1::int8[]) WITH ORDINALITY AS u(id, n)
         JOIN ${s}.chunks c ON c.id = u.id JOIN ${s}.documents d ON d.key = c.doc
        ORDER BY u.n`,
      [wanted],
    );
    return rows.map((r) => {
      const [id, docId, path, title, ordinal, text, start, end, page, headings] = r as [
        string, string, string, string | null, number, string, number, number, number | null, string[],
      ];
      const rec: ChunkRecord = { id: Number(id), docId, path, ordinal, text, start, end, headings };
      if (title !== null) rec.title = title;
      if (page !== null) rec.page = page;
      return rec;
    });
  }

  async vectors(ids: readonly number[]): Promise<Map<number, Float32Array>> {
    this.ensureOpen();
    const wanted = checkIds(ids, 'vectors');
    const out = new Map<number, Float32Array>();
    if (wanted.length === 0) return out;
    return this.conn.read(async (q) => {
      const dimension = (await this.meta(q)).settings?.dimension;
      if (dimension === undefined) return out;
      await this.vectorInfo(q, dimension);
      const rows = await q(`SELECT id, embedding::text FROM ${this.s}.chunks WHERE id = ANY($1::int8[]) AND embedding IS NOT NULL`, [wanted]);
      for (const [id, text] of rows as [string, string][]) out.set(Number(id), parseVector(text));
      return out;
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.conn.close();
  }

  private ensureOpen(): void {
    if (this.closed) throw new Error(`${this.location}: the store is closed`);
  }

  private parseSettings(raw: string | null | undefined): StoreSettings | undefined {
    if (raw === null || raw === undefined) return undefined;
    let settings: StoreSettings;
    try {
      settings = JSON.parse(raw) as StoreSettings;
    } catch {
      throw new StoreCorruptError(this.location, 'its recorded settings are not JSON');
    }
    // The dimension is spliced into type names (vector(n)); anything but a positive integer is corruption.
    const d = settings.dimension;
    if (d !== undefined && !(Number.isInteger(d) && d > 0)) {
      throw new StoreCorruptError(this.location, `its recorded dimension ${JSON.stringify(d)} is not a positive integer`);
    }
    return settings;
  }

  private async meta(q: Query): Promise<MetaState> {
    const rows = await q(`SELECT key, value FROM ${this.s}.meta WHERE key IN ('settings', 'chunk_count', 'total_length')`);
    const m = new Map(rows as [string, string][]);
    return {
      settings: this.parseSettings(m.get('settings')),
      chunkCount: Number(m.get('chunk_count') ?? 0),
      totalLength: Number(m.get('total_length') ?? 0),
    };
  }

  /**
   * pgvector's schema and whether the HNSW index exists, looked up once a dimension is bound. Another
   * process may build the index later: `wantIndex` looks again while it is missing.
   */
  private async vectorInfo(q: Query, dimension: number, wantIndex = false): Promise<VectorState> {
    const known = this.vectorState;
    if (known?.dimension === dimension && (known.index || !wantIndex)) return known;
    const ext = await findVectorExtension(q);
    const state = await embeddingState(q, this.schema);
    if (ext === undefined || !state.column) {
      throw new StoreCorruptError(this.location, `it records dimension ${dimension}, but its chunks have no embedding column`);
    }
    this.vectorState = { ext, dimension, index: state.index };
    return this.vectorState;
  }
}
