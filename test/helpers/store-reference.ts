/**
 * Test data and the reference model behind test/helpers/store-conformance.ts: generated documents, and
 * what a correct store answers about them (exact BM25 statistics, exact cosine top-k).
 */
import assert from 'node:assert/strict';
import type { ChunkFilter, ChunkInput, DocumentInput, LexicalStats, Store, StoreSettings, TermPostings } from '../../src/rag/store/types.js';
import { Rng } from '../../src/core/rng.js';

export const DIM = 8;
export const DENSE: StoreSettings = { analyzer: 'conformance-1', embedModel: 'test-embedder', dimension: DIM, chunkSize: 128, overlap: 16 };
export const LEXICAL: StoreSettings = { analyzer: 'conformance-1' };
/** Every generated chunk holds this term once, so its postings list every chunk. */
export const EVERY = 'every';

/** Uniform [0, 1) numbers from Forja's seeded Rng. */
export function rng(seed: number): () => number {
  const r = new Rng(seed);
  return () => r.next();
}

export function randomVector(r: () => number, dim = DIM): Float32Array {
  return Float32Array.from({ length: dim }, () => r() * 4 - 2);
}

export interface ChunkSpec {
  words: string[];
  page?: number;
  headings?: string[];
}

/** A document whose chunks hold `words` (plus EVERY); vectors when `r` is given. */
export function makeDoc(id: string, path: string, chunks: ChunkSpec[], r?: () => number, extra: Partial<DocumentInput> = {}): DocumentInput {
  let offset = 0;
  const inputs: ChunkInput[] = chunks.map((c, ordinal) => {
    const text = [...c.words, EVERY].join(' ');
    const terms = new Map<string, number>();
    for (const w of [...c.words, EVERY]) terms.set(w, (terms.get(w) ?? 0) + 1);
    const chunk: ChunkInput = { ordinal, text, start: offset, end: offset + text.length, headings: c.headings ?? [], terms };
    offset += text.length + 1;
    if (c.page !== undefined) chunk.page = c.page;
    if (r) chunk.vector = randomVector(r);
    return chunk;
  });
  return { id, path, hash: `hash-${id}`, chunks: inputs, ...extra };
}

export function randomDoc(r: () => number, id: string, path: string, dense: boolean): DocumentInput {
  const n = 1 + Math.floor(r() * 4);
  const paged = r() < 0.5;
  const specs: ChunkSpec[] = Array.from({ length: n }, (_, i) => ({
    words: Array.from({ length: 1 + Math.floor(r() * 12) }, () => `w${Math.floor(r() * r() * 30)}`),
    ...(paged ? { page: 1 + i } : {}),
    headings: i % 2 ? ['Title', `Part ${i}`] : [],
  }));
  return makeDoc(id, path, specs, dense ? r : undefined, { title: `Title ${id}` });
}

/** The written documents, and what a correct store answers about them. */
export class Model {
  readonly docs = new Map<string, DocumentInput>();

  write(docs: readonly DocumentInput[]): void {
    for (const d of docs) this.docs.set(d.id, d);
  }

  delete(ids: readonly string[]): void {
    for (const id of ids) this.docs.delete(id);
  }

  chunks(match: Matcher = () => true): { doc: DocumentInput; chunk: ChunkInput }[] {
    return [...this.docs.values()].flatMap((doc) => doc.chunks.filter((chunk) => match(doc, chunk)).map((chunk) => ({ doc, chunk })));
  }
}

export type Matcher = (doc: DocumentInput, chunk: ChunkInput) => boolean;
type Key = string;
export const keyOf = (docId: string, ordinal: number): Key => `${docId}#${ordinal}`;
const lengthOf = (c: ChunkInput) => [...c.terms.values()].reduce((a, b) => a + b, 0);

/**
 * One term's postings as objects, after checking the typed-array shape the Store interface promises:
 * a Float64Array of strictly ascending integer ids and Uint32Arrays of tfs (> 0) and lengths of the same
 * length, never empty.
 */
export function postingList(list: TermPostings, what = 'postings'): { chunkId: number; tf: number; length: number }[] {
  assert.ok(list.chunkIds instanceof Float64Array, `${what}: chunkIds is a Float64Array`);
  assert.ok(list.tfs instanceof Uint32Array && list.lengths instanceof Uint32Array, `${what}: tfs and lengths are Uint32Arrays`);
  const n = list.chunkIds.length;
  assert.ok(n > 0, `${what}: a listed term has at least one posting`);
  assert.equal(list.tfs.length, n, `${what}: one tf per chunk id`);
  assert.equal(list.lengths.length, n, `${what}: one length per chunk id`);
  return Array.from(list.chunkIds, (chunkId, i) => {
    assert.ok(Number.isSafeInteger(chunkId), `${what}: chunk id ${chunkId} is an integer`);
    assert.ok(i === 0 || list.chunkIds[i - 1]! < chunkId, `${what}: chunk ids ascend (${list.chunkIds[i - 1]} then ${chunkId})`);
    assert.ok(list.tfs[i]! > 0 && list.tfs[i]! <= list.lengths[i]!, `${what}: tf ${list.tfs[i]} within length ${list.lengths[i]}`);
    return { chunkId, tf: list.tfs[i]!, length: list.lengths[i]! };
  });
}

/** Chunk id -> "docId#ordinal" for every chunk in the store (all of them hold EVERY). */
export async function keysById(store: Store): Promise<Map<number, Key>> {
  const stats = await store.lexicalStats([EVERY]);
  const every = stats.postings.get(EVERY);
  const ids = every ? postingList(every, EVERY).map((p) => p.chunkId) : [];
  const records = await store.chunks(ids);
  assert.equal(records.length, ids.length, 'chunks() returns a record for every chunk id in the postings');
  return new Map(records.map((r) => [r.id, keyOf(r.docId, r.ordinal)]));
}

/** lexicalStats with chunk ids replaced by keys, postings sorted, for comparison with the model. */
export async function keyedStats(store: Store, terms: string[], filter?: ChunkFilter) {
  const keys = await keysById(store);
  const stats = await store.lexicalStats(terms, filter);
  return normalizeStats(stats, (id) => {
    const k = keys.get(id);
    assert.ok(k !== undefined, `posting names chunk ${id}, which chunks() does not know`);
    return k;
  });
}

export function normalizeStats(stats: LexicalStats, key: (id: number) => Key) {
  const postings: Record<string, [Key, number, number][]> = {};
  for (const [term, list] of [...stats.postings].sort(([a], [b]) => a.localeCompare(b))) {
    postings[term] = postingList(list, term).map((p) => [key(p.chunkId), p.tf, p.length] as [Key, number, number]).sort(([a], [b]) => a.localeCompare(b));
  }
  return { chunkCount: stats.chunkCount, averageLength: stats.averageLength, postings };
}

export function expectedStats(model: Model, terms: string[], match?: Matcher) {
  const chunks = model.chunks(match);
  const total = chunks.reduce((n, { chunk }) => n + lengthOf(chunk), 0);
  const postings: Record<string, [Key, number, number][]> = {};
  for (const term of [...new Set(terms)].sort((a, b) => a.localeCompare(b))) {
    const list = chunks
      .filter(({ chunk }) => chunk.terms.has(term))
      .map(({ doc, chunk }) => [keyOf(doc.id, chunk.ordinal), chunk.terms.get(term)!, lengthOf(chunk)] as [Key, number, number])
      .sort(([a], [b]) => a.localeCompare(b));
    if (list.length > 0) postings[term] = list;
  }
  return { chunkCount: chunks.length, averageLength: chunks.length > 0 ? total / chunks.length : 0, postings };
}

export function assertStatsEqual(actual: ReturnType<typeof expectedStats>, expected: ReturnType<typeof expectedStats>, what: string): void {
  assert.equal(actual.chunkCount, expected.chunkCount, `${what}: chunkCount`);
  assert.ok(Math.abs(actual.averageLength - expected.averageLength) < 1e-9, `${what}: averageLength ${actual.averageLength} != ${expected.averageLength}`);
  assert.deepEqual(actual.postings, expected.postings, `${what}: postings`);
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
  return dot / Math.sqrt(na * nb);
}

export async function assertSearchExact(store: Store, model: Model, query: Float32Array, k: number, filter?: ChunkFilter, match?: Matcher): Promise<void> {
  const keys = await keysById(store);
  const hits = await store.vectorSearch(query, k, filter);
  const expected = model
    .chunks(match)
    .map(({ doc, chunk }) => ({ key: keyOf(doc.id, chunk.ordinal), score: cosine(query, chunk.vector!) }))
    .sort((a, b) => b.score - a.score)
    .slice(0, k);
  const what = `vectorSearch k=${k} ${JSON.stringify(filter ?? {})}`;
  assert.equal(hits.length, expected.length, `${what}: hit count`);
  hits.forEach((h, i) => {
    assert.ok(i === 0 || hits[i - 1]!.score >= h.score, `${what}: hits are best first`);
    assert.ok(Math.abs(h.score - expected[i]!.score) < 1e-5, `${what}: hit ${i} score ${h.score} != ${expected[i]!.score}`);
    // Ids must match unless two reference scores are too close to order reliably.
    const close = expected.some((e, j) => j !== i && Math.abs(e.score - expected[i]!.score) < 1e-5);
    if (!close) assert.equal(keys.get(h.chunkId), expected[i]!.key, `${what}: hit ${i}`);
  });
}

export async function snapshot(store: Store) {
  const keys = await keysById(store);
  const ids = [...keys.keys()].sort((a, b) => a - b);
  return {
    info: await store.info(),
    documents: (await store.documents()).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)),
    stats: normalizeStats(await store.lexicalStats([EVERY, 'w0', 'w1', 'w2', 'w3']), (id) => keys.get(id)!),
    chunks: await store.chunks(ids),
  };
}
