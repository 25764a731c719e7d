/**
 * The SQLite store's file format: its schema, and the checks that tell a Forja store from a corrupt,
 * foreign or newer file before anything writes to it.
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { StoreCorruptError } from '../../errors.js';

/** `PRAGMA application_id`: "FoRJ". */
export const APPLICATION_ID = 0x466f524a;
/** `PRAGMA user_version`; bump it, and add a migration, whenever the schema below changes. */
export const SCHEMA_VERSION = 1;

export const TABLES = ['meta', 'documents', 'chunks', 'terms', 'segments', 'postings', 'chunks_fts'] as const;

export const SCHEMA = `
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE documents (
  key INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  path TEXT NOT NULL,
  title TEXT,
  hash TEXT NOT NULL
);
-- Ids are never reused (AUTOINCREMENT), so a chunk id seen in an old result never names another chunk.
-- Small columns first; the covering index serves the in-memory catalog without reading text or vectors.
-- term_ids (int32) lists the chunk's terms, so that deleting it finds its postings.
CREATE TABLE chunks (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  doc INTEGER NOT NULL REFERENCES documents(key) ON DELETE CASCADE,
  ordinal INTEGER NOT NULL,
  page INTEGER,
  length INTEGER NOT NULL,
  start INTEGER NOT NULL,
  "end" INTEGER NOT NULL,
  headings TEXT NOT NULL,
  term_ids BLOB NOT NULL,
  text TEXT NOT NULL,
  embedding BLOB
);
CREATE INDEX chunks_doc ON chunks(doc, page, length);
CREATE TABLE terms (id INTEGER PRIMARY KEY, term TEXT NOT NULL UNIQUE);
-- The term index in segments (./term-index.ts): a segment covers chunk ids from lo up to the next
-- segment's lo; data holds one term's postings there as uint32 (chunk id, tf, chunk length) triples.
CREATE TABLE segments (lo INTEGER PRIMARY KEY, entries INTEGER NOT NULL);
CREATE TABLE postings (
  segment INTEGER NOT NULL REFERENCES segments(lo),
  term_id INTEGER NOT NULL REFERENCES terms(id),
  data BLOB NOT NULL,
  PRIMARY KEY (segment, term_id)
) WITHOUT ROWID;
-- Kept for phrase search; contentless, since the text is in chunks.
CREATE VIRTUAL TABLE chunks_fts USING fts5(text, content='', contentless_delete=1);
INSERT INTO meta(key, value) VALUES ('generation', '0');
`;

const HEADER = Buffer.from('SQLite format 3\0', 'latin1');

/**
 * Reads the file's 100-byte header: refuses what is not SQLite or is shorter than its header says.
 * Returns false for a missing or empty file (a new store).
 */
export function inspectFile(path: string, location: string): boolean {
  let size: number;
  try {
    const st = statSync(path);
    if (st.isDirectory()) throw new StoreCorruptError(location, 'it is a directory');
    size = st.size;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
  if (size === 0) return false;
  const header = Buffer.alloc(100);
  const fd = openSync(path, 'r');
  try {
    readSync(fd, header, 0, 100, 0);
  } finally {
    closeSync(fd);
  }
  if (size < 100 || !header.subarray(0, 16).equals(HEADER)) {
    throw new StoreCorruptError(location, 'it is not a SQLite database (no SQLite header)');
  }
  const rawPageSize = header.readUInt16BE(16);
  const pageSize = rawPageSize === 1 ? 65536 : rawPageSize;
  const pages = header.readUInt32BE(28);
  // The in-header page count is valid only when "version-valid-for" equals the change counter.
  const countValid = header.readUInt32BE(92) === header.readUInt32BE(24) && pages > 0;
  // With a non-empty write-ahead log the main file may legitimately lag its header (mid-checkpoint).
  if (countValid && size < pages * pageSize && !hasWal(path)) {
    throw new StoreCorruptError(location, `it is truncated: ${size} bytes, but its header records ${pages} pages of ${pageSize} bytes`);
  }
  return true;
}

function hasWal(path: string): boolean {
  try {
    return statSync(`${path}-wal`).size > 0;
  } catch {
    return false;
  }
}
