/**
 * Retrieval and evaluation test helpers over the shared in-memory Store (test/helpers/memory-store.ts):
 * a store that records what retrieval asks it, one-chunk documents, and `beirStore`, which loads a BEIR
 * corpus the way Anserini's flat index does: one chunk per document, its title and text joined.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { ANALYZER, termFrequencies } from '../../src/rag/lexical/analyzer.js';
import type { ChunkFilter, DocumentInput, LexicalStats } from '../../src/rag/store/types.js';
import { MemoryStore } from '../helpers/memory-store.js';

export { cosine } from '../helpers/store-reference.js';

/** A MemoryStore that keeps every lexicalStats call. */
export class RecordingStore extends MemoryStore {
  readonly lexicalCalls: { terms: readonly string[]; filter?: ChunkFilter }[] = [];

  override async lexicalStats(terms: readonly string[], filter?: ChunkFilter): Promise<LexicalStats> {
    this.lexicalCalls.push({ terms, filter });
    return super.lexicalStats(terms, filter);
  }
}

/** A store bound to the analyzer, and to a toy embedding model when `dimension` is given. */
export async function boundStore(dimension?: number, embedModel = 'toy'): Promise<RecordingStore> {
  const store = new RecordingStore();
  await store.bind({ analyzer: ANALYZER, ...(dimension === undefined ? {} : { embedModel, dimension }) });
  return store;
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
export async function beirStore(corpusPath: string): Promise<RecordingStore> {
  const store = await boundStore();
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
