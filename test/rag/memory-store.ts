/**
 * An in-memory Store for retrieval and evaluation tests, with exact statistics and exact cosine search,
 * filtered by the reference matcher. `beirStore` loads a BEIR corpus the way Anserini's flat index does:
 * one chunk per document, its title and text joined.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { termFrequencies } from '../../src/rag/lexical/analyzer.js';
import { compileFilter } from '../../src/rag/retrieve/filters.js';
import type { ChunkFilter, ChunkRecord, DocumentInput, LexicalStats, Posting, Store, StoreInfo, StoreSettings, VectorHit } from '../../src/rag/store/types.js';

interface Row {
  record: ChunkRecord;
  terms: ReadonlyMap<string, number>;
  length: number;
  vector?: Float32Array;
}

export class MemoryStore implements Store {
  readonly location = 'memory:';
  private settings: StoreSettings = { analyzer: '' };
  private docs = new Map<string, { id: string; path: string; hash: string; chunkIds: number[] }>();
  private rows = new Map<number, Row>();
  private nextId = 1;
  /** Every lexicalStats call, for tests that check what retrieval asked. */
  readonly lexicalCalls: { terms: readonly string[]; filter?: ChunkFilter }[] = [];

  async info(): Promise<StoreInfo> {
    return { ...this.settings, location: this.location, documents: this.docs.size, chunks: this.rows.size };
  }

  async bind(settings: StoreSettings): Promise<void> {
    this.settings = { ...this.settings, ...settings };
  }

  async documents(): Promise<{ id: string; path: string; hash: string }[]> {
    return [...this.docs.values()].map(({ id, path, hash }) => ({ id, path, hash }));
  }

  async writeDocuments(docs: readonly DocumentInput[]): Promise<void> {
    for (const doc of docs) {
      await this.deleteDocuments([doc.id]);
      const chunkIds: number[] = [];
      for (const c of doc.chunks) {
        const id = this.nextId++;
        chunkIds.push(id);
        const record: ChunkRecord = { id, docId: doc.id, path: doc.path, title: doc.title, ordinal: c.ordinal, text: c.text, start: c.start, end: c.end, page: c.page, headings: c.headings };
        let length = 0;
        for (const n of c.terms.values()) length += n;
        this.rows.set(id, { record, terms: c.terms, length, vector: c.vector });
      }
      this.docs.set(doc.id, { id: doc.id, path: doc.path, hash: doc.hash, chunkIds });
    }
  }

  async deleteDocuments(ids: readonly string[]): Promise<void> {
    for (const id of ids) {
      for (const c of this.docs.get(id)?.chunkIds ?? []) this.rows.delete(c);
      this.docs.delete(id);
    }
  }

  private filtered(filter?: ChunkFilter): Row[] {
    const pass = compileFilter(filter);
    return [...this.rows.values()].filter((r) => pass(r.record));
  }

  async lexicalStats(terms: readonly string[], filter?: ChunkFilter): Promise<LexicalStats> {
    this.lexicalCalls.push({ terms, filter });
    const rows = this.filtered(filter);
    let total = 0;
    for (const r of rows) total += r.length;
    const postings = new Map<string, Posting[]>();
    for (const term of terms) {
      const list: Posting[] = [];
      for (const r of rows) {
        const tf = r.terms.get(term);
        if (tf) list.push({ chunkId: r.record.id, tf, length: r.length });
      }
      if (list.length) postings.set(term, list);
    }
    return { chunkCount: rows.length, averageLength: rows.length ? total / rows.length : 0, postings };
  }

  async vectorSearch(query: Float32Array, k: number, filter?: ChunkFilter): Promise<VectorHit[]> {
    const hits: VectorHit[] = [];
    for (const r of this.filtered(filter)) if (r.vector) hits.push({ chunkId: r.record.id, score: cosine(query, r.vector) });
    return hits.sort((a, b) => b.score - a.score || a.chunkId - b.chunkId).slice(0, k);
  }

  async chunks(ids: readonly number[]): Promise<ChunkRecord[]> {
    return ids.flatMap((id) => {
      const r = this.rows.get(id);
      return r ? [r.record] : [];
    });
  }

  async vectors(ids: readonly number[]): Promise<Map<number, Float32Array>> {
    const out = new Map<number, Float32Array>();
    for (const id of ids) {
      const v = this.rows.get(id)?.vector;
      if (v) out.set(id, v);
    }
    return out;
  }

  async close(): Promise<void> {}
}

export function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return na && nb ? dot / Math.sqrt(na * nb) : 0;
}

/** A document of one chunk holding `text` (and optionally a vector), indexed with the analyzer. */
export function textDocument(id: string, text: string, extra: { path?: string; title?: string; page?: number; headings?: string[]; vector?: number[] } = {}): DocumentInput {
  return {
    id,
    path: extra.path ?? `${id}.txt`,
    title: extra.title,
    hash: id,
    chunks: [{ ordinal: 0, text, start: 0, end: text.length, page: extra.page, headings: extra.headings ?? [], terms: termFrequencies(text), vector: extra.vector ? Float32Array.from(extra.vector) : undefined }],
  };
}

/** A BEIR corpus.jsonl as a store of one chunk per document: `title + "\n" + text`, as Anserini's flat index. */
export async function beirStore(corpusPath: string): Promise<MemoryStore> {
  const store = new MemoryStore();
  const docs: DocumentInput[] = [];
  for await (const line of createInterface({ input: createReadStream(corpusPath), crlfDelay: Infinity })) {
    if (!line.trim()) continue;
    const { _id, title, text } = JSON.parse(line) as { _id: string; title?: string; text?: string };
    const body = title ? `${title}\n${text ?? ''}` : (text ?? '');
    docs.push(textDocument(_id, body, { path: _id, title, headings: title ? [title] : [] }));
  }
  await store.writeDocuments(docs);
  return store;
}
