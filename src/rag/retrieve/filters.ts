/**
 * Metadata filters (src/rag/store/types.ts ChunkFilter): retrieval's checks, which name the part at
 * fault, and a reference matcher for in-memory stores, with the globs every backend shares (store/glob.ts).
 */
import { globToRegExp } from '../store/glob.js';
import type { ChunkFilter } from '../store/types.js';
import { RetrievalSettingsError } from './errors.js';

/** What a filter looks at in a chunk. */
export interface FilterableChunk {
  docId: string;
  path: string;
  page?: number;
}

/** Throws a RetrievalSettingsError naming the part of `filter` that cannot select anything sensible. */
export function checkFilter(filter: ChunkFilter): void {
  if (filter.pathGlob !== undefined && (typeof filter.pathGlob !== 'string' || filter.pathGlob.length === 0)) {
    throw new RetrievalSettingsError('pathGlob', '{pathGlob} must be a non-empty glob');
  }
  if (filter.docIds !== undefined && !Array.isArray(filter.docIds)) throw new RetrievalSettingsError('docIds', '{docIds} must be a list of document ids');
  const pages = filter.pages;
  if (pages) {
    for (const end of ['from', 'to'] as const) {
      const v = pages[end];
      if (v !== undefined && (!Number.isInteger(v) || v < 1)) throw new RetrievalSettingsError('pages', `{pages} ${end} must be a page number from 1, not ${v}`);
    }
    if (pages.from !== undefined && pages.to !== undefined && pages.from > pages.to) {
      throw new RetrievalSettingsError('pages', `{pages} runs from ${pages.from} to ${pages.to}: its start is after its end`);
    }
  }
}

/** A predicate that tells whether a chunk passes `filter` (everything passes an empty filter). */
export function compileFilter(filter: ChunkFilter | undefined): (chunk: FilterableChunk) => boolean {
  if (!filter) return () => true;
  checkFilter(filter);
  const glob = filter.pathGlob !== undefined ? globToRegExp(filter.pathGlob) : undefined;
  const ids = filter.docIds ? new Set(filter.docIds) : undefined;
  const pages = filter.pages;
  return (chunk) => {
    if (glob && !glob.test(chunk.path)) return false;
    if (ids && !ids.has(chunk.docId)) return false;
    if (pages) {
      if (chunk.page === undefined) return false;
      if (pages.from !== undefined && chunk.page < pages.from) return false;
      if (pages.to !== undefined && chunk.page > pages.to) return false;
    }
    return true;
  };
}
