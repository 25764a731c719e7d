/**
 * The k best of many scored items without sorting them all: a bounded min-heap, O(n log k). Ties go to
 * the smaller id, so a ranking never depends on the order a backend returned its rows in. Items come as
 * parallel arrays and only the kept ones become objects: a query over common terms scores thousands of
 * chunks, and an object for each was garbage for the collector to sweep.
 */

export interface Scored {
  id: number;
  score: number;
}

/** The `k` best of the items (ids[i], scores[i]), best first. */
export function topK(ids: ArrayLike<number>, scores: ArrayLike<number>, k: number): Scored[] {
  if (ids.length !== scores.length) throw new RangeError(`topK: ${ids.length} ids but ${scores.length} scores`);
  if (k <= 0 || ids.length === 0) return [];
  // True when item a ranks below item b: a lower score, or the same score and a larger id.
  const worse = (a: number, b: number) => scores[a]! < scores[b]! || (scores[a] === scores[b] && ids[a]! > ids[b]!);
  // heap[0] is the worst kept item.
  const heap = new Int32Array(Math.min(k, ids.length));
  let size = 0;
  const swap = (i: number, j: number) => {
    const t = heap[i]!;
    heap[i] = heap[j]!;
    heap[j] = t;
  };
  for (let item = 0; item < ids.length; item++) {
    if (size < heap.length) {
      heap[size] = item;
      for (let i = size++; i > 0; ) {
        const parent = (i - 1) >> 1;
        if (!worse(heap[i]!, heap[parent]!)) break;
        swap(i, parent);
        i = parent;
      }
    } else if (worse(heap[0]!, item)) {
      heap[0] = item;
      for (let i = 0; ; ) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < size && worse(heap[l]!, heap[m]!)) m = l;
        if (r < size && worse(heap[r]!, heap[m]!)) m = r;
        if (m === i) break;
        swap(i, m);
        i = m;
      }
    }
  }
  return Array.from(heap.subarray(0, size))
    .sort((a, b) => (worse(a, b) ? 1 : worse(b, a) ? -1 : 0))
    .map((i) => ({ id: ids[i]!, score: scores[i]! }));
}
