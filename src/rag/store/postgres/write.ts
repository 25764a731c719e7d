/**
 * The statements of a write transaction, in bulk: documents and terms through UNNEST arrays, chunks
 * through multi-row VALUES (their vectors as binary parameters), postings through UNNEST again.
 */
import type { ChunkInput, DocumentInput } from '../types.js';
import type { Query } from './connection.js';
import { encodeVector, slices } from './sql.js';

/** Chunks per INSERT: 10 parameters each, far below the protocol's 65,535. */
const CHUNKS_PER_INSERT = 500;
/** Postings per INSERT; each is four array elements. */
const POSTINGS_PER_INSERT = 200_000;
const TERMS_PER_LOOKUP = 50_000;

export interface Totals {
  count: number;
  length: number;
}

/** Inserts or updates the documents; returns each id's row key. */
export async function upsertDocuments(q: Query, s: string, docs: readonly DocumentInput[]): Promise<Map<string, string>> {
  const rows = await q(
    `INSERT INTO ${s}.documents(id, path, title, hash)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[])
     ON CONFLICT (id) DO UPDATE SET path = excluded.path, title = excluded.title, hash = excluded.hash
     RETURNING id, key`,
    [docs.map((d) => d.id), docs.map((d) => d.path), docs.map((d) => d.title ?? null), docs.map((d) => d.hash)],
  );
  return new Map(rows.map((r) => [r[0] as string, r[1] as string]));
}

/** Deletes the documents' chunks and their postings; returns how many chunks, and how long, went. */
export async function removeChunks(q: Query, s: string, docKeys: readonly string[]): Promise<Totals> {
  if (docKeys.length === 0) return { count: 0, length: 0 };
  const rows = await q(
    `WITH gone AS (DELETE FROM ${s}.chunks WHERE doc = ANY($1::int8[]) RETURNING id, length, term_ids),
          unposted AS (
            DELETE FROM ${s}.postings p USING (SELECT id, unnest(term_ids) AS term_id FROM gone) g
             WHERE p.term_id = g.term_id AND p.chunk_id = g.id)
     SELECT count(*), coalesce(sum(length), 0) FROM gone`,
    [docKeys],
  );
  const [count, length] = rows[0] as [string, string];
  return { count: Number(count), length: Number(length) };
}

/** The ids of `terms`, inserting those the store has not seen. */
async function termIds(q: Query, s: string, terms: readonly string[]): Promise<Map<string, number>> {
  const ids = new Map<string, number>();
  for (const part of slices(terms, TERMS_PER_LOOKUP)) {
    // The second branch reads the snapshot from before the INSERT: the terms that already existed.
    const rows = await q(
      `WITH input AS (SELECT unnest($1::text[]) AS term),
            added AS (INSERT INTO ${s}.terms(term) SELECT term FROM input ON CONFLICT (term) DO NOTHING RETURNING id, term)
       SELECT id, term FROM added
       UNION ALL
       SELECT t.id, t.term FROM ${s}.terms t JOIN input USING (term)`,
      [part],
    );
    for (const [id, term] of rows as [number, string][]) ids.set(term, id);
  }
  return ids;
}

interface PendingChunk {
  docKey: string;
  chunk: ChunkInput;
  termIds: number[];
  length: number;
}

/** Inserts every document's chunks and postings; returns how many chunks, and how long, were added. */
export async function insertChunks(
  q: Query,
  s: string,
  vectorType: string | undefined,
  docs: readonly DocumentInput[],
  docKeys: ReadonlyMap<string, string>,
): Promise<Totals> {
  const distinct = new Set<string>();
  for (const doc of docs) for (const chunk of doc.chunks) for (const term of chunk.terms.keys()) distinct.add(term);
  const ids = await termIds(q, s, [...distinct]);

  const pending: PendingChunk[] = [];
  let totalLength = 0;
  for (const doc of docs) {
    const docKey = docKeys.get(doc.id)!;
    for (const chunk of doc.chunks) {
      const list: number[] = [];
      let length = 0;
      for (const [term, tf] of chunk.terms) {
        list.push(ids.get(term)!);
        length += tf;
      }
      pending.push({ docKey, chunk, termIds: list, length });
      totalLength += length;
    }
  }

  const post = { term: [] as number[], chunk: [] as string[], tf: [] as number[], length: [] as number[] };
  const flush = async () => {
    if (post.term.length === 0) return;
    // Sorted by term, so that one term's postings of a batch share heap pages: a query reads a few pages
    // per batch instead of one per posting.
    await q(
      `INSERT INTO ${s}.postings(term_id, chunk_id, tf, length)
         SELECT * FROM unnest($1::int4[], $2::int8[], $3::int4[], $4::int4[]) ORDER BY 1, 2`,
      [post.term, post.chunk, post.tf, post.length],
    );
    post.term = [];
    post.chunk = [];
    post.tf = [];
    post.length = [];
  };

  const columns = 'doc, ordinal, page, length, start, "end", headings, term_ids, text' + (vectorType ? ', embedding' : '');
  for (const part of slices(pending, CHUNKS_PER_INSERT)) {
    const values: unknown[] = [];
    const tuples: string[] = [];
    for (const p of part) {
      const o = values.length;
      const slots = [`$${o + 1}::int8`, `$${o + 2}::int4`, `$${o + 3}::int4`, `$${o + 4}::int4`, `$${o + 5}::int4`, `$${o + 6}::int4`, `$${o + 7}::text[]`, `$${o + 8}::int4[]`, `$${o + 9}::text`];
      values.push(p.docKey, p.chunk.ordinal, p.chunk.page ?? null, p.length, p.chunk.start, p.chunk.end, p.chunk.headings, p.termIds, p.chunk.text);
      if (vectorType) {
        slots.push(`$${o + 10}::${vectorType}`);
        values.push(encodeVector(p.chunk.vector!));
      }
      tuples.push(`(${slots.join(', ')})`);
    }
    const rows = await q(`INSERT INTO ${s}.chunks(${columns}) VALUES ${tuples.join(', ')} RETURNING doc, ordinal, id`, values);
    // Map by (document, ordinal) rather than trusting RETURNING's order.
    const chunkIds = new Map(rows.map((r) => [`${r[0]}:${r[1]}`, r[2] as string]));
    for (const p of part) {
      const id = chunkIds.get(`${p.docKey}:${p.chunk.ordinal}`)!;
      let i = 0;
      for (const tf of p.chunk.terms.values()) {
        post.term.push(p.termIds[i++]!);
        post.chunk.push(id);
        post.tf.push(tf);
        post.length.push(p.length);
      }
      if (post.term.length >= POSTINGS_PER_INSERT) await flush();
    }
  }
  await flush();
  return { count: pending.length, length: totalLength };
}

export async function addTotals(q: Query, s: string, count: number, length: number): Promise<void> {
  if (count === 0 && length === 0) return;
  await q(
    `UPDATE ${s}.meta SET value = (value::int8 + CASE key WHEN 'chunk_count' THEN $1::int8 ELSE $2::int8 END)::text
      WHERE key IN ('chunk_count', 'total_length')`,
    [count, length],
  );
}
