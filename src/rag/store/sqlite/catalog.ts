/**
 * What filters and statistics need of every chunk (its document, page and length), held in memory and
 * rebuilt when the store's generation changes, so a query reads the chunks table only for its results.
 */
import { globToRegExp } from '../glob.js';
import type { ChunkFilter } from '../types.js';

export interface CatalogDoc {
  id: string;
  path: string;
}

export class Catalog {
  readonly size: number;
  /** Row -> chunk id, ascending. */
  readonly ids: Float64Array;
  /** Row -> index into `docs`. */
  readonly docOf: Int32Array;
  /** Row -> page, 0 when the chunk has none. */
  readonly page: Int32Array;
  /** Row -> length in terms. */
  readonly length: Float64Array;
  readonly totalLength: number;
  private readonly rowById = new Map<number, number>();

  constructor(
    readonly generation: number,
    readonly docs: readonly CatalogDoc[],
    rows: readonly (readonly [id: number, docIndex: number, page: number | null, length: number])[],
  ) {
    this.size = rows.length;
    this.ids = new Float64Array(rows.length);
    this.docOf = new Int32Array(rows.length);
    this.page = new Int32Array(rows.length);
    this.length = new Float64Array(rows.length);
    let total = 0;
    rows.forEach(([id, doc, page, length], r) => {
      this.ids[r] = id;
      this.docOf[r] = doc;
      this.page[r] = page ?? 0;
      this.length[r] = length;
      this.rowById.set(id, r);
      total += length;
    });
    this.totalLength = total;
  }

  row(chunkId: number): number | undefined {
    return this.rowById.get(chunkId);
  }

  /** Row -> 1 if the chunk passes `filter`; undefined when the filter restricts nothing. */
  select(filter: ChunkFilter | undefined): Uint8Array | undefined {
    if (!filter || (filter.pathGlob === undefined && filter.docIds === undefined && filter.pages === undefined)) {
      return undefined;
    }
    const docOk = new Uint8Array(this.docs.length).fill(1);
    if (filter.pathGlob !== undefined) {
      const re = globToRegExp(filter.pathGlob);
      this.docs.forEach((d, i) => {
        if (!re.test(d.path)) docOk[i] = 0;
      });
    }
    if (filter.docIds !== undefined) {
      const wanted = new Set(filter.docIds);
      this.docs.forEach((d, i) => {
        if (!wanted.has(d.id)) docOk[i] = 0;
      });
    }
    const from = filter.pages?.from ?? 1;
    const to = filter.pages?.to ?? Infinity;
    const mask = new Uint8Array(this.size);
    for (let r = 0; r < this.size; r++) {
      if (docOk[this.docOf[r]!] === 0) continue;
      if (filter.pages !== undefined) {
        const p = this.page[r]!;
        if (p === 0 || p < from || p > to) continue;
      }
      mask[r] = 1;
    }
    return mask;
  }

  /** Chunk count and summed length of the selected rows. */
  totals(mask: Uint8Array | undefined): { count: number; length: number } {
    if (!mask) return { count: this.size, length: this.totalLength };
    let count = 0;
    let length = 0;
    for (let r = 0; r < this.size; r++) {
      if (mask[r]) {
        count++;
        length += this.length[r]!;
      }
    }
    return { count, length };
  }
}
