/**
 * First-stage ranked lists in the unit results are counted in: chunks, or documents represented by
 * their best chunk (BEIR judges documents). Collapsing needs each chunk's document, so chunk records are
 * read once per query through a small cache, and a list is fetched deeper until it holds enough units.
 */
import type { ChunkRecord, Store } from '../store/types.js';
import type { Scored } from './top-k.js';

export type RetrievalUnit = 'chunk' | 'document';

/** One unit of a ranked list: its key (chunk id or document id) and the chunk that stands for it. */
export interface UnitHit {
  key: string;
  chunkId: number;
  score: number;
}

/** Chunk records read from a store at most once. */
export class RecordCache {
  private readonly records = new Map<number, ChunkRecord>();
  constructor(private readonly store: Store) {}

  async load(ids: readonly number[]): Promise<void> {
    const missing = [...new Set(ids.filter((id) => !this.records.has(id)))];
    if (missing.length === 0) return;
    for (const r of await this.store.chunks(missing)) this.records.set(r.id, r);
  }

  get(id: number): ChunkRecord {
    const r = this.records.get(id);
    if (!r) throw new Error(`${this.store.location}: chunk ${id} was ranked but cannot be read (deleted while searching?)`);
    return r;
  }
}

/**
 * The first `want` units of a ranking that `fetch(n)` returns `n` deep (best first). For documents, the
 * first chunk of each document stands for it; the ranking is fetched 4× deeper until `want` documents
 * are found or it runs out.
 */
export async function rankUnits(fetch: (n: number) => Promise<Scored[]>, want: number, unit: RetrievalUnit, records: RecordCache): Promise<UnitHit[]> {
  for (let n = want; ; n *= 4) {
    const hits = await fetch(n);
    if (unit === 'chunk') return hits.slice(0, want).map((h) => ({ key: String(h.id), chunkId: h.id, score: h.score }));
    await records.load(hits.map((h) => h.id));
    const seen = new Set<string>();
    const units: UnitHit[] = [];
    for (const h of hits) {
      const docId = records.get(h.id).docId;
      if (seen.has(docId)) continue;
      seen.add(docId);
      units.push({ key: docId, chunkId: h.id, score: h.score });
      if (units.length === want) return units;
    }
    if (hits.length < n) return units;
  }
}
