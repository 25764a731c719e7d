/**
 * Checks a writeDocuments batch against the store's settings before anything is written, so that every
 * backend refuses the same input with the same error, naming the document and chunk.
 */
import { StoreMismatchError } from '../errors.js';
import type { ChunkFilter, DocumentInput, StoreSettings } from './types.js';

function isNonNegativeInt(v: unknown): v is number {
  return Number.isInteger(v) && (v as number) >= 0;
}

export function validateDocuments(location: string, docs: readonly DocumentInput[], settings: StoreSettings | undefined): void {
  if (settings === undefined) {
    throw new Error(`${location}: bind the store's settings (analyzer, embedding model) before writing documents`);
  }
  const seen = new Set<string>();
  for (const doc of docs) {
    for (const key of ['id', 'path', 'hash'] as const) {
      if (typeof doc[key] !== 'string' || doc[key].length === 0) {
        throw new TypeError(`document ${JSON.stringify(doc.id)}: ${key} must be a non-empty string`);
      }
    }
    if (doc.title !== undefined && typeof doc.title !== 'string') {
      throw new TypeError(`document ${JSON.stringify(doc.id)}: title must be a string`);
    }
    if (seen.has(doc.id)) throw new Error(`document ${JSON.stringify(doc.id)} appears twice in one batch`);
    seen.add(doc.id);
    const ordinals = new Set<number>();
    for (const chunk of doc.chunks) {
      const where = `document ${JSON.stringify(doc.id)}, chunk ${chunk.ordinal}`;
      if (!isNonNegativeInt(chunk.ordinal)) throw new RangeError(`${where}: ordinal must be a non-negative integer`);
      if (ordinals.has(chunk.ordinal)) throw new Error(`${where}: ordinal appears twice`);
      ordinals.add(chunk.ordinal);
      if (typeof chunk.text !== 'string') throw new TypeError(`${where}: text must be a string`);
      if (!isNonNegativeInt(chunk.start) || !isNonNegativeInt(chunk.end) || chunk.end < chunk.start) {
        throw new RangeError(`${where}: offsets [${chunk.start}, ${chunk.end}) are not a range of non-negative integers`);
      }
      if (chunk.page !== undefined && !(Number.isInteger(chunk.page) && chunk.page >= 1)) {
        throw new RangeError(`${where}: page must be a 1-based integer, got ${chunk.page}`);
      }
      if (!Array.isArray(chunk.headings) || chunk.headings.some((h) => typeof h !== 'string')) {
        throw new TypeError(`${where}: headings must be an array of strings`);
      }
      for (const [term, tf] of chunk.terms) {
        if (typeof term !== 'string' || term.length === 0) throw new TypeError(`${where}: a term is empty`);
        if (!(Number.isInteger(tf) && tf > 0)) throw new RangeError(`${where}: term ${JSON.stringify(term)} has frequency ${tf}, not a positive integer`);
      }
      checkVector(location, where, chunk.vector, settings);
    }
  }
}

function checkVector(location: string, where: string, vector: Float32Array | undefined, settings: StoreSettings): void {
  if (settings.dimension === undefined) {
    if (vector !== undefined) throw new Error(`${where}: has a vector, but ${location} has no embedding model bound`);
    return;
  }
  if (vector === undefined) throw new Error(`${where}: has no vector, but ${location} is built with ${settings.embedModel}`);
  if (!(vector instanceof Float32Array)) throw new TypeError(`${where}: vector must be a Float32Array`);
  if (vector.length !== settings.dimension) throw new StoreMismatchError(location, 'dimension', settings.dimension, vector.length);
  for (let i = 0; i < vector.length; i++) {
    if (!Number.isFinite(vector[i]!)) throw new RangeError(`${where}: vector[${i}] is ${vector[i]}`);
  }
}

/** A query vector must have the store's dimension. */
export function checkQueryVector(location: string, query: Float32Array, k: number, settings: StoreSettings | undefined): void {
  if (!(Number.isInteger(k) && k >= 0)) throw new RangeError(`vectorSearch: k must be a non-negative integer, got ${k}`);
  if (!(query instanceof Float32Array)) throw new TypeError('vectorSearch: the query must be a Float32Array');
  if (settings?.dimension === undefined) throw new Error(`${location} holds no vectors: it has no embedding model bound`);
  if (query.length !== settings.dimension) throw new StoreMismatchError(location, 'dimension', settings.dimension, query.length);
  for (let i = 0; i < query.length; i++) {
    if (!Number.isFinite(query[i]!)) throw new RangeError(`vectorSearch: query[${i}] is ${query[i]}`);
  }
}

export function checkFilter(filter: ChunkFilter | undefined): void {
  if (!filter) return;
  if (filter.pathGlob !== undefined && typeof filter.pathGlob !== 'string') throw new TypeError('filter: pathGlob must be a string');
  if (filter.docIds !== undefined && !Array.isArray(filter.docIds)) throw new TypeError('filter: docIds must be an array of ids');
  const pages = filter.pages;
  if (pages !== undefined) {
    for (const key of ['from', 'to'] as const) {
      const v = pages[key];
      if (v !== undefined && !(Number.isInteger(v) && v >= 1)) throw new RangeError(`filter: pages.${key} must be a 1-based integer, got ${v}`);
    }
  }
}
