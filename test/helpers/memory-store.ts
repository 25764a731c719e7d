/**
 * An in-memory Store that keeps the interface's promises as a real backend does: bind() records settings
 * and refuses different ones with a StoreMismatchError; writeDocuments() and deleteDocuments() are
 * transactions (all or nothing) that check each batch against the settings first; search is exact.
 *
 * For crash tests, `crash` makes the n-th writeDocuments call fail after it has applied some of its
 * documents; the transaction then rolls back, as SQLite's would.
 */
import { StoreMismatchError } from '../../src/rag/errors.js';
import { compileFilter } from '../../src/rag/retrieve/filters.js';
import { cosineSimilarity } from '../../src/rag/retrieve/mmr.js';
import type { ChunkFilter, ChunkRecord, DocumentInput, LexicalStats, Store, StoreInfo, StoreSettings, TermPostings, VectorHit } from '../../src/rag/store/types.js';

interface Row {
  record: ChunkRecord;
  terms: ReadonlyMap<string, number>;
  length: number;
  vector?: Float32Array;
}

interface Doc {
  id: string;
  path: string;
  hash: string;
  chunkIds: number[];
}

interface State {
  docs: Map<string, Doc>;
  rows: Map<number, Row>;
  nextId: number;
}

export interface CrashPlan {
  /** 1-based writeDocuments call that fails. */
  onWrite: number;
  /** Documents it applies before failing (then rolls back). */
  afterDocuments: number;
}

export class SimulatedCrash extends Error {
  override name = 'SimulatedCrash';
}

const KEYS = ['analyzer', 'embedModel', 'dimension', 'chunkSize', 'overlap'] as const;

export class MemoryStore implements Store {
  readonly location: string;
  private settings: StoreSettings | undefined;
  private state: State = { docs: new Map(), rows: new Map(), nextId: 1 };
  /** writeDocuments calls so far, failed ones included, and each call's document ids. */
  readonly writes: string[][] = [];
  crash: CrashPlan | undefined;

  constructor(options: { location?: string; crash?: CrashPlan } = {}) {
    this.location = options.location ?? 'memory:';
    this.crash = options.crash;
  }

  async info(): Promise<StoreInfo> {
    return { analyzer: '', ...this.settings, location: this.location, documents: this.state.docs.size, chunks: this.state.rows.size };
  }

  async bind(requested: StoreSettings): Promise<void> {
    if (!requested.analyzer) throw new TypeError('store settings: analyzer must be a non-empty string');
    if ((requested.embedModel === undefined) !== (requested.dimension === undefined)) throw new TypeError('store settings: embedModel and dimension go together');
    const merged: Record<string, string | number | undefined> = { ...this.settings };
    for (const key of KEYS) {
      const want = requested[key];
      if (want === undefined) continue;
      const have = this.settings?.[key];
      if (have === undefined) {
        // Chunks already written were built without this setting.
        if (this.state.rows.size > 0) throw new StoreMismatchError(this.location, key, 'none', want);
        merged[key] = want;
      } else if (have !== want) throw new StoreMismatchError(this.location, key, have, want);
    }
    this.settings = merged as unknown as StoreSettings;
  }

  async documents(): Promise<{ id: string; path: string; hash: string }[]> {
    return [...this.state.docs.values()].map(({ id, path, hash }) => ({ id, path, hash }));
  }

  private check(docs: readonly DocumentInput[]): void {
    const settings = this.settings;
    if (!settings) throw new Error(`${this.location}: bind the store's settings before writing documents`);
    const ids = new Set<string>();
    for (const doc of docs) {
      if (!doc.id || !doc.path || !doc.hash) throw new TypeError(`document ${JSON.stringify(doc.id)}: id, path and hash must be non-empty strings`);
      if (ids.has(doc.id)) throw new Error(`document ${JSON.stringify(doc.id)} appears twice in one batch`);
      ids.add(doc.id);
      const ordinals = new Set<number>();
      for (const c of doc.chunks) {
        const where = `document ${JSON.stringify(doc.id)}, chunk ${c.ordinal}`;
        if (!Number.isInteger(c.ordinal) || c.ordinal < 0 || ordinals.has(c.ordinal)) throw new RangeError(`${where}: bad or repeated ordinal`);
        ordinals.add(c.ordinal);
        if (!(Number.isInteger(c.start) && Number.isInteger(c.end) && 0 <= c.start && c.start <= c.end)) throw new RangeError(`${where}: bad offsets [${c.start}, ${c.end})`);
        if (c.page !== undefined && !(Number.isInteger(c.page) && c.page >= 1)) throw new RangeError(`${where}: bad page ${c.page}`);
        for (const [term, tf] of c.terms) if (!term || !(Number.isInteger(tf) && tf > 0)) throw new RangeError(`${where}: bad term ${JSON.stringify(term)} x ${tf}`);
        if (settings.dimension === undefined) {
          if (c.vector) throw new Error(`${where}: has a vector, but ${this.location} has no embedding model bound`);
        } else {
          if (!c.vector) throw new Error(`${where}: has no vector, but ${this.location} is built with ${settings.embedModel}`);
          if (c.vector.length !== settings.dimension) throw new StoreMismatchError(this.location, 'dimension', settings.dimension, c.vector.length);
        }
      }
    }
  }

  /** Runs `change` on a copy of the state and keeps the copy only if it returns. */
  private transaction(change: (s: State) => void): void {
    const copy: State = { docs: new Map(this.state.docs), rows: new Map(this.state.rows), nextId: this.state.nextId };
    change(copy);
    this.state = copy;
  }

  async writeDocuments(docs: readonly DocumentInput[]): Promise<void> {
    this.writes.push(docs.map((d) => d.id));
    this.check(docs);
    const crashing = this.crash?.onWrite === this.writes.length ? this.crash : undefined;
    this.transaction((s) => {
      docs.forEach((doc, i) => {
        if (crashing && i === crashing.afterDocuments) throw new SimulatedCrash(`write ${this.writes.length} failed after ${i} documents`);
        remove(s, doc.id);
        const chunkIds: number[] = [];
        for (const c of doc.chunks) {
          const id = s.nextId++;
          chunkIds.push(id);
          const record: ChunkRecord = { id, docId: doc.id, path: doc.path, title: doc.title, ordinal: c.ordinal, text: c.text, start: c.start, end: c.end, page: c.page, headings: [...c.headings] };
          let length = 0;
          for (const n of c.terms.values()) length += n;
          s.rows.set(id, { record, terms: new Map(c.terms), length, vector: c.vector?.slice() });
        }
        s.docs.set(doc.id, { id: doc.id, path: doc.path, hash: doc.hash, chunkIds });
      });
      if (crashing && crashing.afterDocuments >= docs.length) throw new SimulatedCrash(`write ${this.writes.length} failed before commit`);
    });
  }

  async deleteDocuments(ids: readonly string[]): Promise<void> {
    this.transaction((s) => ids.forEach((id) => remove(s, id)));
  }

  private filtered(filter?: ChunkFilter): Row[] {
    const pass = compileFilter(filter);
    return [...this.state.rows.values()].filter((r) => pass(r.record));
  }

  async lexicalStats(terms: readonly string[], filter?: ChunkFilter): Promise<LexicalStats> {
    const rows = this.filtered(filter);
    const postings = new Map<string, TermPostings>();
    for (const term of new Set(terms)) {
      // Rows are kept in insertion order, which is ascending chunk id.
      const holding = rows.filter((r) => r.terms.has(term));
      if (holding.length === 0) continue;
      postings.set(term, {
        chunkIds: Float64Array.from(holding, (r) => r.record.id),
        tfs: Uint32Array.from(holding, (r) => r.terms.get(term)!),
        lengths: Uint32Array.from(holding, (r) => r.length),
      });
    }
    const total = rows.reduce((n, r) => n + r.length, 0);
    return { chunkCount: rows.length, averageLength: rows.length ? total / rows.length : 0, postings };
  }

  async vectorSearch(query: Float32Array, k: number, filter?: ChunkFilter): Promise<VectorHit[]> {
    const dimension = this.settings?.dimension;
    if (dimension === undefined) throw new Error(`${this.location} holds no vectors: it has no embedding model bound`);
    if (query.length !== dimension) throw new StoreMismatchError(this.location, 'dimension', dimension, query.length);
    const hits: VectorHit[] = [];
    for (const r of this.filtered(filter)) if (r.vector) hits.push({ chunkId: r.record.id, score: cosineSimilarity(query, r.vector) });
    return hits.sort((a, b) => b.score - a.score || a.chunkId - b.chunkId).slice(0, k);
  }

  async chunks(ids: readonly number[]): Promise<ChunkRecord[]> {
    return ids.flatMap((id) => {
      const r = this.state.rows.get(id);
      return r ? [{ ...r.record, headings: [...r.record.headings] }] : [];
    });
  }

  async vectors(ids: readonly number[]): Promise<Map<number, Float32Array>> {
    const out = new Map<number, Float32Array>();
    for (const id of ids) {
      const v = this.state.rows.get(id)?.vector;
      if (v) out.set(id, v.slice());
    }
    return out;
  }

  async close(): Promise<void> {}

  /** Every chunk, by document id then ordinal, for comparing two stores. */
  dump(): ChunkRecord[] {
    return [...this.state.rows.values()].map((r) => r.record).sort((a, b) => (a.docId < b.docId ? -1 : a.docId > b.docId ? 1 : a.ordinal - b.ordinal));
  }
}

function remove(s: State, id: string): void {
  for (const c of s.docs.get(id)?.chunkIds ?? []) s.rows.delete(c);
  s.docs.delete(id);
}

