/**
 * Forja's own inverted index for BM25, kept in segments as Lucene keeps its index:
 *
 * - Each write transaction appends one segment: one row per term it uses, whose blob lists that term's
 *   postings in the new chunks as uint32 triples (chunk id, tf, chunk length), by ascending chunk id.
 *   Appending at the end of the table keeps a commit's dirty pages few, where one row per posting
 *   would touch pages all over the table.
 * - A segment covers a contiguous range of chunk ids from its key `lo` (ids only grow), so a chunk's
 *   postings live in the segment with the greatest `lo` at or below its id.
 * - When eight segments of the same size tier end the list, they merge into one, so a term's postings
 *   are a few point lookups however many small writes built the store.
 */
import type Database from 'better-sqlite3';
import type { TermPostings } from '../types.js';

type Db = Database.Database;

const MERGE_FACTOR = 8;
/** uint32 fields per posting: chunk id, tf, length. */
const POSTING_FIELDS = 3;

function tier(entries: number): number {
  return entries <= 1 ? 0 : Math.floor(Math.log(entries) / Math.log(MERGE_FACTOR));
}

function uint32s(blob: Buffer): Uint32Array {
  const out = new Uint32Array(blob.byteLength >> 2);
  new Uint8Array(out.buffer).set(blob);
  return out;
}

let scratch = new Uint32Array(1 << 12);

/**
 * A blob's uint32s without allocating a backing store: a view when it is 4-byte aligned, else a copy
 * into a scratch array reused until the next call.
 */
function aligned(blob: Buffer): Uint32Array {
  const n = blob.byteLength >> 2;
  if (blob.byteOffset % 4 === 0) return new Uint32Array(blob.buffer, blob.byteOffset, n);
  if (scratch.length < n) scratch = new Uint32Array(Math.max(n, scratch.length * 2));
  new Uint8Array(scratch.buffer, 0, n * 4).set(blob);
  return scratch.subarray(0, n);
}

function toBlob(a: Uint32Array): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

function concat(blobs: readonly Buffer[]): Uint32Array {
  let bytes = 0;
  for (const b of blobs) bytes += b.byteLength;
  const out = new Uint32Array(bytes >> 2);
  const view = new Uint8Array(out.buffer);
  let o = 0;
  for (const b of blobs) {
    view.set(b, o);
    o += b.byteLength;
  }
  return out;
}

export interface IndexedChunk {
  id: number;
  termIds: Int32Array;
}

export class TermIndex {
  /** Committed term -> id. Terms are never deleted, so entries stay valid until a write fails. */
  private readonly ids = new Map<string, number>();
  /** The segment the current write transaction builds: (term id, chunk id, tf, length) quads. */
  private pending = new Uint32Array(1 << 16);
  private pendingEntries = 0;
  private pendingLo: number | undefined;
  private readonly s;

  constructor(db: Db) {
    const p = (sql: string) => db.prepare(sql);
    this.s = {
      termId: p('SELECT id FROM terms WHERE term = ?').pluck(),
      // Another connection may have added the term since this one cached its ids.
      insertTerm: p('INSERT INTO terms(term) VALUES (?) ON CONFLICT(term) DO NOTHING'),
      segments: p('SELECT lo, entries FROM segments ORDER BY lo').raw(),
      segmentLos: p('SELECT lo FROM segments ORDER BY lo').pluck(),
      insertSegment: p('INSERT INTO segments(lo, entries) VALUES (?, ?)'),
      setEntries: p('UPDATE segments SET entries = ? WHERE lo = ?'),
      deleteSegment: p('DELETE FROM segments WHERE lo = ?'),
      get: p('SELECT data FROM postings WHERE segment = ? AND term_id = ?').pluck(),
      // One statement probes every segment (the plan is a primary-key search per IN value).
      postings: p('SELECT data FROM postings WHERE term_id = ? AND segment IN (SELECT lo FROM segments) ORDER BY segment').pluck(),
      put: p('INSERT INTO postings(segment, term_id, data) VALUES (?, ?, ?)'),
      update: p('UPDATE postings SET data = ? WHERE segment = ? AND term_id = ?'),
      delete: p('DELETE FROM postings WHERE segment = ? AND term_id = ?'),
      rowsOf: p('SELECT term_id, data FROM postings WHERE segment = ?').raw(),
      deleteRowsOf: p('DELETE FROM postings WHERE segment = ?'),
    };
  }

  /** The committed id of `term`, if any chunk ever used it. */
  lookup(term: string): number | undefined {
    let id = this.ids.get(term);
    if (id === undefined) {
      id = this.s.termId.get(term) as number | undefined;
      if (id !== undefined) this.ids.set(term, id);
    }
    return id;
  }

  /** Inside a write transaction: the term's id, created when new. */
  idForWrite(term: string): number {
    let id = this.ids.get(term);
    if (id !== undefined) return id;
    const r = this.s.insertTerm.run(term);
    id = r.changes === 1 ? Number(r.lastInsertRowid) : (this.s.termId.get(term) as number);
    this.ids.set(term, id);
    return id;
  }

  /** After a rolled-back write: ids and postings handed out inside it no longer exist. */
  rollback(): void {
    this.ids.clear();
    this.resetPending();
  }

  /** Adds a new chunk's postings to this transaction's segment; chunk ids must come in ascending order. */
  add(chunkId: number, termIds: Int32Array, tfs: Iterable<number>, length: number): void {
    this.pendingLo ??= chunkId;
    const need = (this.pendingEntries + termIds.length) * 4;
    if (need > this.pending.length) {
      const grown = new Uint32Array(Math.max(need, this.pending.length * 2));
      grown.set(this.pending.subarray(0, this.pendingEntries * 4));
      this.pending = grown;
    }
    const q = this.pending;
    let o = this.pendingEntries * 4;
    let i = 0;
    for (const tf of tfs) {
      q[o] = termIds[i++]!;
      q[o + 1] = chunkId;
      q[o + 2] = tf;
      q[o + 3] = length;
      o += 4;
    }
    this.pendingEntries += termIds.length;
  }

  /** Removes committed chunks' postings (before this transaction's segment is flushed). */
  remove(chunks: readonly IndexedChunk[]): void {
    if (chunks.length === 0) return;
    const los = this.s.segmentLos.all() as number[];
    const bySegment = new Map<number, Map<number, Set<number>>>();
    for (const { id, termIds } of chunks) {
      if (termIds.length === 0) continue;
      const lo = segmentOf(los, id);
      if (lo === undefined) continue;
      let terms = bySegment.get(lo);
      if (!terms) bySegment.set(lo, (terms = new Map()));
      for (const t of termIds) {
        let set = terms.get(t);
        if (!set) terms.set(t, (set = new Set()));
        set.add(id);
      }
    }
    const entries = new Map((this.s.segments.all() as [number, number][]).map(([lo, e]) => [lo, e]));
    for (const [lo, terms] of bySegment) {
      let removed = 0;
      for (const [termId, dead] of terms) {
        const blob = this.s.get.get(lo, termId) as Buffer | undefined;
        if (!blob) continue;
        const list = uint32s(blob);
        const kept: number[] = [];
        for (let i = 0; i < list.length; i += POSTING_FIELDS) {
          if (dead.has(list[i]!)) removed++;
          else kept.push(list[i]!, list[i + 1]!, list[i + 2]!);
        }
        if (kept.length === 0) this.s.delete.run(lo, termId);
        else if (kept.length !== list.length) this.s.update.run(toBlob(Uint32Array.from(kept)), lo, termId);
      }
      const left = (entries.get(lo) ?? 0) - removed;
      if (left <= 0) {
        this.s.deleteRowsOf.run(lo);
        this.s.deleteSegment.run(lo);
      } else {
        this.s.setEntries.run(left, lo);
      }
    }
  }

  /** Writes this transaction's segment and merges segments as the tiers fill up. */
  flush(): void {
    const lo = this.pendingLo;
    const n = this.pendingEntries;
    if (lo !== undefined && n > 0) {
      // A stable counting sort by term id turns the quads into one contiguous triple run per term.
      const q = this.pending;
      const counts = new Map<number, number>();
      for (let e = 0; e < n; e++) counts.set(q[e * 4]!, (counts.get(q[e * 4]!) ?? 0) + 1);
      const termIds = [...counts.keys()].sort((a, b) => a - b);
      const start = new Map<number, number>();
      let at = 0;
      for (const t of termIds) {
        start.set(t, at);
        at += counts.get(t)!;
      }
      const next = new Map(start);
      const out = new Uint32Array(n * POSTING_FIELDS);
      for (let e = 0; e < n; e++) {
        const t = q[e * 4]!;
        const slot = next.get(t)!;
        next.set(t, slot + 1);
        out.set(q.subarray(e * 4 + 1, e * 4 + 4), slot * POSTING_FIELDS);
      }
      this.s.insertSegment.run(lo, n);
      for (const t of termIds) {
        const from = start.get(t)! * POSTING_FIELDS;
        this.s.put.run(lo, t, toBlob(out.subarray(from, from + counts.get(t)! * POSTING_FIELDS)));
      }
      this.merge();
    }
    this.resetPending();
  }

  /**
   * Inside a read transaction: each term's postings by ascending chunk id, without those `keep` refuses.
   * All terms share one set of arrays (each gets views of it), so a query allocates three backing stores
   * however many terms and segments it reads, and no object per posting.
   */
  postings(termIds: readonly number[], keep?: (chunkId: number) => boolean): TermPostings[] {
    const blobs = termIds.map((t) => this.s.postings.all(t) as Buffer[]);
    let total = 0;
    for (const list of blobs) for (const b of list) total += b.byteLength / (4 * POSTING_FIELDS);
    const chunkIds = new Float64Array(total);
    const tfs = new Uint32Array(total);
    const lengths = new Uint32Array(total);
    let m = 0;
    return blobs.map((list) => {
      const from = m;
      for (const blob of list) {
        const flat = aligned(blob);
        for (let i = 0; i < flat.length; i += POSTING_FIELDS) {
          const id = flat[i]!;
          if (keep !== undefined && !keep(id)) continue;
          chunkIds[m] = id;
          tfs[m] = flat[i + 1]!;
          lengths[m] = flat[i + 2]!;
          m++;
        }
      }
      return { chunkIds: chunkIds.subarray(from, m), tfs: tfs.subarray(from, m), lengths: lengths.subarray(from, m) };
    });
  }

  private resetPending(): void {
    this.pendingLo = undefined;
    this.pendingEntries = 0;
  }

  private merge(): void {
    for (;;) {
      const segs = this.s.segments.all() as [number, number][];
      const last = segs.length - 1;
      if (last < 0) return;
      const t = tier(segs[last]![1]);
      let first = last;
      while (first > 0 && tier(segs[first - 1]![1]) === t) first--;
      if (last - first + 1 < MERGE_FACTOR) return;
      const run = segs.slice(first);
      const lo = run[0]![0];
      const byTerm = new Map<number, Buffer[]>();
      for (const [segment] of run) {
        for (const [termId, data] of this.s.rowsOf.all(segment) as [number, Buffer][]) {
          let list = byTerm.get(termId);
          if (!list) byTerm.set(termId, (list = []));
          list.push(data);
        }
        this.s.deleteRowsOf.run(segment);
        if (segment !== lo) this.s.deleteSegment.run(segment);
      }
      this.s.setEntries.run(run.reduce((n, [, e]) => n + e, 0), lo);
      for (const termId of [...byTerm.keys()].sort((a, b) => a - b)) this.s.put.run(lo, termId, toBlob(concat(byTerm.get(termId)!)));
    }
  }
}

/** The greatest `lo` at or below `id`, from ascending `los`. */
function segmentOf(los: readonly number[], id: number): number | undefined {
  let a = 0;
  let b = los.length - 1;
  let found: number | undefined;
  while (a <= b) {
    const m = (a + b) >> 1;
    if (los[m]! <= id) {
      found = los[m];
      a = m + 1;
    } else {
      b = m - 1;
    }
  }
  return found;
}
