/**
 * The k best of many scored items without sorting them all: a bounded min-heap, O(n log k). Ties go to
 * the smaller id, so a ranking never depends on the order a backend returned its rows in.
 */

export interface Scored {
  id: number;
  score: number;
}

/** True when `a` ranks below `b`: lower score, or the same score and a larger id. */
function worse(a: Scored, b: Scored): boolean {
  return a.score < b.score || (a.score === b.score && a.id > b.id);
}

/** The `k` best items of `items`, best first. */
export function topK<T extends Scored>(items: Iterable<T>, k: number): T[] {
  if (k <= 0) return [];
  const heap: T[] = [];
  for (const item of items) {
    if (heap.length < k) {
      heap.push(item);
      siftUp(heap, heap.length - 1);
    } else if (worse(heap[0]!, item)) {
      heap[0] = item;
      siftDown(heap, 0);
    }
  }
  return heap.sort((a, b) => (worse(a, b) ? 1 : worse(b, a) ? -1 : 0));
}

// heap[0] is the worst kept item.
function siftUp<T extends Scored>(heap: T[], i: number): void {
  while (i > 0) {
    const parent = (i - 1) >> 1;
    if (!worse(heap[i]!, heap[parent]!)) return;
    [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
    i = parent;
  }
}

function siftDown<T extends Scored>(heap: T[], i: number): void {
  for (;;) {
    const l = 2 * i + 1;
    const r = l + 1;
    let m = i;
    if (l < heap.length && worse(heap[l]!, heap[m]!)) m = l;
    if (r < heap.length && worse(heap[r]!, heap[m]!)) m = r;
    if (m === i) return;
    [heap[i], heap[m]] = [heap[m]!, heap[i]!];
    i = m;
  }
}
