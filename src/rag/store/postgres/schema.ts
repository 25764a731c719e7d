/**
 * The PostgreSQL store's tables, in one schema per store: the SQLite store's logical schema (meta,
 * documents, chunks, terms, postings), with pgvector for embeddings. The embedding column and its HNSW
 * index are added when a dimension is first bound, so a BM25-only store needs no extension.
 */
import { StoreCorruptError } from '../../errors.js';
import type { Connection, Query } from './connection.js';
import { quoteIdent } from './url.js';

/** meta's `schema_version`; bump it, and add a migration, whenever the tables below change. */
export const SCHEMA_VERSION = 1;

export const TABLES = ['meta', 'documents', 'chunks', 'terms', 'postings'] as const;

/** pgvector's HNSW indexes halfvec up to this many dimensions; wider stores are searched exactly. */
export const HNSW_MAX_DIMENSION = 4000;

function ddl(s: string): string {
  return `
CREATE TABLE ${s}.meta (key text PRIMARY KEY, value text NOT NULL);
CREATE TABLE ${s}.documents (
  key bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  id text NOT NULL UNIQUE,
  path text NOT NULL,
  title text,
  hash text NOT NULL
);
-- Identity ids are never reused, so a chunk id seen in an old result never names another chunk.
-- term_ids lists the chunk's postings, so deleting them needs no second index on postings.
CREATE TABLE ${s}.chunks (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  doc bigint NOT NULL REFERENCES ${s}.documents(key) ON DELETE CASCADE,
  ordinal integer NOT NULL,
  page integer,
  length integer NOT NULL,
  start integer NOT NULL,
  "end" integer NOT NULL,
  headings text[] NOT NULL,
  term_ids integer[] NOT NULL,
  text text NOT NULL
);
CREATE INDEX chunks_doc ON ${s}.chunks(doc, page);
CREATE TABLE ${s}.terms (id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY, term text NOT NULL UNIQUE);
-- One term's postings are one range of the primary key; the chunk's length is copied in so that BM25
-- statistics need no lookup per posting. No foreign keys: the store writes both sides in one transaction.
CREATE TABLE ${s}.postings (
  term_id integer NOT NULL,
  chunk_id bigint NOT NULL,
  tf integer NOT NULL,
  length integer NOT NULL,
  PRIMARY KEY (term_id, chunk_id)
);
INSERT INTO ${s}.meta(key, value) VALUES
  ('schema_version', '${SCHEMA_VERSION}'), ('chunk_count', '0'), ('total_length', '0');
`;
}

/** The schema's base tables, or undefined when the schema does not exist. */
async function tablesOf(q: Query, schema: string): Promise<Set<string> | undefined> {
  const rows = await q(
    `SELECT n.nspname, c.relname FROM pg_namespace n
       LEFT JOIN pg_class c ON c.relnamespace = n.oid AND c.relkind IN ('r', 'p')
      WHERE n.nspname = $1`,
    [schema],
  );
  if (rows.length === 0) return undefined;
  return new Set(rows.map((r) => r[1]).filter((t): t is string => typeof t === 'string'));
}

/** Creates the store's tables when the schema is new or empty; refuses a schema that is not a Forja store. */
export async function prepareSchema(conn: Connection, schema: string): Promise<void> {
  const s = quoteIdent(schema);
  const present = await tablesOf((t, v) => conn.query(t, v), schema);
  if (present === undefined || present.size === 0) {
    await conn.write(async (q) => {
      // Another process may have created it since the check above; the lock orders the two.
      const now = await tablesOf(q, schema);
      if (now !== undefined && now.size > 0) return;
      await q(`CREATE SCHEMA IF NOT EXISTS ${s}`);
      await q(ddl(s));
    });
  }
  await checkSchema(conn, schema);
}

async function checkSchema(conn: Connection, schema: string): Promise<void> {
  const where = `${conn.location} (schema ${schema})`;
  const present = (await tablesOf((t, v) => conn.query(t, v), schema)) ?? new Set<string>();
  if (!present.has('meta')) {
    throw new StoreCorruptError(where, `the schema holds tables (${[...present].sort().join(', ')}) but no Forja meta table`);
  }
  const rows = await conn.query(`SELECT value FROM ${quoteIdent(schema)}.meta WHERE key = 'schema_version'`);
  const version = Number(rows[0]?.[0]);
  if (!Number.isInteger(version) || version < 1) {
    throw new StoreCorruptError(where, `its schema version ${JSON.stringify(rows[0]?.[0] ?? null)} is not one Forja ever wrote`);
  }
  if (version > SCHEMA_VERSION) {
    throw new StoreCorruptError(where, `its schema version ${version} is newer than this version of Forja reads (${SCHEMA_VERSION})`);
  }
  const missing = TABLES.filter((t) => !present.has(t));
  if (missing.length > 0) throw new StoreCorruptError(where, `it lacks the table(s) ${missing.join(', ')}`);
}

/** Where pgvector is installed, and its version. */
export interface VectorExtension {
  schema: string;
  version: string;
  /** halfvec arrived in pgvector 0.7.0. */
  halfvec: boolean;
  /** hnsw.iterative_scan arrived in pgvector 0.8.0. */
  iterativeScan: boolean;
}

function atLeast(version: string, major: number, minor: number): boolean {
  const [a = 0, b = 0] = version.split('.').map((p) => Number.parseInt(p, 10));
  return a > major || (a === major && b >= minor);
}

export async function findVectorExtension(q: Query): Promise<VectorExtension | undefined> {
  const rows = await q("SELECT n.nspname, e.extversion FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'vector'");
  if (rows.length === 0) return undefined;
  const [schema, version] = rows[0] as [string, string];
  return { schema, version, halfvec: atLeast(version, 0, 7), iterativeScan: atLeast(version, 0, 8) };
}

/**
 * Inside a write transaction: installs pgvector if needed, then adds the embedding column (float32, so
 * stored vectors come back exactly). The HNSW index comes later (createVectorIndex).
 */
export async function addEmbeddingColumn(q: Query, location: string, schema: string, dimension: number): Promise<VectorExtension> {
  let ext = await findVectorExtension(q);
  if (ext === undefined) {
    try {
      await q('CREATE EXTENSION IF NOT EXISTS vector');
    } catch (e) {
      throw new Error(`${location}: the pgvector extension ("vector") is not installed and cannot be created: ${(e as Error).message}`, { cause: e });
    }
    ext = (await findVectorExtension(q))!;
  }
  if (!ext.halfvec) {
    throw new Error(`${location}: pgvector ${ext.version} is installed; the store needs 0.7.0 or newer (halfvec)`);
  }
  const s = quoteIdent(schema);
  const v = quoteIdent(ext.schema);
  await q(`ALTER TABLE ${s}.chunks ADD COLUMN embedding ${v}.vector(${dimension})`);
  return ext;
}

/**
 * Inside a write transaction: the HNSW index over the embeddings' half-precision cast (half the size of a
 * float32 index). Built over the rows already there, which is much faster than growing it row by row.
 */
export async function createVectorIndex(q: Query, schema: string, ext: VectorExtension, dimension: number): Promise<void> {
  const v = quoteIdent(ext.schema);
  await q(
    `CREATE INDEX IF NOT EXISTS chunks_embedding ON ${quoteIdent(schema)}.chunks
       USING hnsw ((embedding::${v}.halfvec(${dimension})) ${v}.halfvec_cosine_ops)`,
  );
}

/** Whether the chunks table has its embedding column, and whether the HNSW index exists. */
export async function embeddingState(q: Query, schema: string): Promise<{ column: boolean; index: boolean }> {
  const rows = await q(
    `SELECT
       EXISTS (SELECT 1 FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE n.nspname = $1 AND c.relname = 'chunks' AND a.attname = 'embedding' AND NOT a.attisdropped),
       EXISTS (SELECT 1 FROM pg_indexes WHERE schemaname = $1 AND indexname = 'chunks_embedding')`,
    [schema],
  );
  const [column, index] = rows[0] as [boolean, boolean];
  return { column, index };
}
