/**
 * Vector search behind one seam: `ExactVectorIndex` scores every selected row; for stores too big for
 * that, the HNSW graph (./ann-index.ts) implements the same interface, chosen where the store builds its index.
 */
import type { VectorHit } from '../types.js';

export interface VectorIndex {
  /** The `k` rows most similar to `query` among those `mask` selects (all when undefined), best first. */
  search(query: Float32Array, k: number, mask: Uint8Array | undefined): VectorHit[];
}

/**
 * Exact cosine top-k over a row-major matrix of float32 vectors, accumulated in float64. Ties go to the
 * smaller chunk id, so results are deterministic.
 */
export class ExactVectorIndex implements VectorIndex {
  private readonly inverseNorms: Float64Array;

  constructor(
    private readonly ids: Float64Array,
    private readonly matrix: Float32Array,
    readonly dimension: number,
  ) {
    const n = ids.length;
    this.inverseNorms = new Float64Array(n);
    for (let r = 0; r < n; r++) {
      let s = 0;
      const o = r * dimension;
      for (let j = 0; j < dimension; j++) s += matrix[o + j]! * matrix[o + j]!;
      // A zero vector is similar to nothing: cosine 0.
      this.inverseNorms[r] = s > 0 ? 1 / Math.sqrt(s) : 0;
    }
  }

  search(query: Float32Array, k: number, mask: Uint8Array | undefined): VectorHit[] {
    const d = this.dimension;
    let qq = 0;
    for (let j = 0; j < d; j++) qq += query[j]! * query[j]!;
    const qInv = qq > 0 ? 1 / Math.sqrt(qq) : 0;
    const heap = new TopK(k);
    const m = this.matrix;
    const n = this.ids.length;
    for (let r = 0; r < n; r++) {
      if (mask && mask[r] === 0) continue;
      const o = r * d;
      let dot = 0;
      for (let j = 0; j < d; j++) dot += query[j]! * m[o + j]!;
      heap.offer(dot * qInv * this.inverseNorms[r]!, this.ids[r]!);
    }
    return heap.sorted();
  }
}

/** A bounded min-heap of the best `k` (score desc, id asc). */
export class TopK {
  private readonly scores: number[] = [];
  private readonly ids: number[] = [];

  constructor(private readonly k: number) {}

  // True when (sa, ia) ranks below (sb, ib).
  private static worse(sa: number, ia: number, sb: number, ib: number): boolean {
    return sa < sb || (sa === sb && ia > ib);
  }

  offer(score: number, id: number): void {
    const { scores, ids, k } = this;
    if (k === 0) return;
    if (scores.length < k) {
      scores.push(score);
      ids.push(id);
      let i = scores.length - 1;
      while (i > 0) {
        const p = (i - 1) >> 1;
        if (!TopK.worse(scores[i]!, ids[i]!, scores[p]!, ids[p]!)) break;
        this.swap(i, p);
        i = p;
      }
      return;
    }
    if (!TopK.worse(scores[0]!, ids[0]!, score, id)) return;
    scores[0] = score;
    ids[0] = id;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let w = i;
      if (l < scores.length && TopK.worse(scores[l]!, ids[l]!, scores[w]!, ids[w]!)) w = l;
      if (r < scores.length && TopK.worse(scores[r]!, ids[r]!, scores[w]!, ids[w]!)) w = r;
      if (w === i) break;
      this.swap(i, w);
      i = w;
    }
  }

  private swap(a: number, b: number): void {
    const { scores, ids } = this;
    [scores[a], scores[b]] = [scores[b]!, scores[a]!];
    [ids[a], ids[b]] = [ids[b]!, ids[a]!];
  }

  sorted(): VectorHit[] {
    const hits = this.scores.map((score, i) => ({ chunkId: this.ids[i]!, score }));
    return hits.sort((a, b) => b.score - a.score || a.chunkId - b.chunkId);
  }
}
