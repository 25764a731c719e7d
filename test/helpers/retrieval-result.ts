import type { RetrievalResult } from '../../src/rag/retrieve.js';

/** A retrieval result for chunk `id` of document `doc<id>`, score 1/id. */
export function result(id: number, text: string, extra: Partial<RetrievalResult['chunk']> = {}): RetrievalResult {
  return {
    chunk: { id, docId: `doc${id}`, path: `docs/doc${id}.md`, ordinal: 0, text, start: 0, end: text.length, headings: [], ...extra },
    score: 1 / id, rank: id, stages: {},
  };
}
