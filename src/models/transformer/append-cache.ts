/**
 * The KV cache an 'append' inference graph (inference-graph.ts) runs on: per layer key then value,
 * each positions first, (capacity, batch, n_kv, hs), with spare capacity. A step feeds prefix views
 * and writes back only its new positions, so its cost does not grow with the cache.
 *
 * Caches are values. Several may share one store; only the cache at the store's tip appends in
 * place, and any other is copied first (copy-on-write), so an older or cropped cache stays valid.
 */
import type ort from 'onnxruntime-node';
import { float32, int64 } from '../../runtime/session.js';
import type { KVCache } from '../../text/language-model.js';

/** What an 'append' graph step of `steps` new positions is fed from a cache, and the cache its outputs go into. */
export interface AppendStep {
  /** Per tensor, the cached positions as a (length, batch, n_kv, hs) view. */
  past: ort.Tensor[];
  /** The `cache_positions` input: length … length + steps − 1. */
  positions: ort.Tensor;
  /** The grown cache; `write` it the step's appended outputs. */
  next: AppendKvCache;
}

class Store {
  constructor(
    readonly batch: number,
    /** Floats of one row at one position: n_kv · hs. */
    readonly rowSize: number,
    readonly capacity: number,
    /** Per layer key then value, each capacity × batch × rowSize. */
    readonly buffers: readonly Float32Array[],
    /** Positions claimed so far; [0, length) never changes again. */
    public length: number,
  ) {}

  get positionSize(): number {
    return this.batch * this.rowSize;
  }

  static allocate(tensors: number, batch: number, rowSize: number, capacity: number): Store {
    const buffers = Array.from({ length: tensors }, () => new Float32Array(capacity * batch * rowSize));
    return new Store(batch, rowSize, capacity, buffers, 0);
  }
}

export class AppendKvCache implements KVCache {
  constructor(
    private readonly store: Store,
    readonly length: number,
  ) {}

  get batch(): number {
    return this.store.batch;
  }

  /** A cache with no positions. */
  static empty(tensors: number, batch: number, rowSize: number): AppendKvCache {
    return new AppendKvCache(Store.allocate(tensors, batch, rowSize, 0), 0);
  }

  /** Each tensor's positions [0, length), as views of (length, batch, n_kv, hs). */
  views(): Float32Array[] {
    const size = this.length * this.store.positionSize;
    return this.store.buffers.map((b) => b.subarray(0, size));
  }

  /** The feeds of a step from this cache (views, no copy) and the cache it grows into (`reserve`). */
  beginStep(steps: number, maxCapacity: number, kvHeads: number, headDim: number): AppendStep {
    const dims = [this.length, this.batch, kvHeads, headDim];
    const past = this.views().map((v) => float32(v, dims));
    const positions = int64(BigInt64Array.from({ length: steps }, (_, i) => BigInt(this.length + i)), [steps]);
    return { past, positions, next: this.reserve(steps, maxCapacity) };
  }

  /**
   * Claims `steps` positions after this cache's: the returned cache's `write` fills them. In place when
   * this cache is its store's tip and the store has room; otherwise the positions are copied to a new
   * store of at least twice the capacity, at most `maxCapacity`.
   */
  reserve(steps: number, maxCapacity: number): AppendKvCache {
    const total = this.length + steps;
    let store = this.store;
    if (store.length !== this.length || total > store.capacity) {
      const capacity = Math.max(total, Math.min(maxCapacity, Math.max(2 * store.capacity, total + 32)));
      store = Store.allocate(store.buffers.length, store.batch, store.rowSize, capacity);
      const size = this.length * store.positionSize;
      this.store.buffers.forEach((b, j) => store.buffers[j]!.set(b.subarray(0, size)));
    }
    store.length = total; // claimed now, so a second step from this cache copies instead of overwriting
    return new AppendKvCache(store, total);
  }

  /** Writes the claimed last `steps` positions: one (steps, batch, n_kv, hs) array per tensor. */
  write(steps: number, added: readonly Float32Array[]): void {
    const { store } = this;
    const at = (this.length - steps) * store.positionSize;
    added.forEach((a, j) => {
      if (a.length !== steps * store.positionSize) throw new Error(`AppendKvCache.write: tensor ${j} has ${a.length} floats, expected ${steps} positions × ${store.positionSize}`);
      store.buffers[j]!.set(a, at);
    });
  }

  /** The first `length` positions, sharing this store (the next step from it copies). */
  crop(length: number): AppendKvCache {
    return new AppendKvCache(this.store, length);
  }

  /** Positions [start, length) of every row. */
  dropFirst(start: number): AppendKvCache {
    const { store } = this;
    const size = store.positionSize;
    const length = this.length - start;
    const out = Store.allocate(store.buffers.length, store.batch, store.rowSize, length);
    store.buffers.forEach((b, j) => out.buffers[j]!.set(b.subarray(start * size, this.length * size)));
    out.length = length;
    return new AppendKvCache(out, length);
  }

  /** The given rows, in order. */
  selectRows(rows: readonly number[]): AppendKvCache {
    const { store } = this;
    const out = Store.allocate(store.buffers.length, rows.length, store.rowSize, this.length);
    const r = store.rowSize;
    store.buffers.forEach((b, j) => {
      const dst = out.buffers[j]!;
      for (let p = 0; p < this.length; p++) {
        const from = p * store.positionSize;
        const to = p * out.positionSize;
        rows.forEach((row, i) => dst.set(b.subarray(from + row * r, from + (row + 1) * r), to + i * r));
      }
    });
    out.length = this.length;
    return new AppendKvCache(out, this.length);
  }

  /** The caches' rows stacked in order, each left-padded with zero positions to the longest. */
  static concatPadded(caches: readonly AppendKvCache[], where: string): AppendKvCache {
    if (caches.length === 0) throw new Error(`${where}: give at least one cache`);
    const first = caches[0]!.store;
    for (const [i, c] of caches.entries()) {
      if (c.store.rowSize !== first.rowSize || c.store.buffers.length !== first.buffers.length) {
        throw new Error(`${where}: cache ${i} holds ${c.store.buffers.length} tensors of ${c.store.rowSize} floats per row, expected ${first.buffers.length} of ${first.rowSize}`);
      }
    }
    const length = Math.max(...caches.map((c) => c.length));
    const batch = caches.reduce((n, c) => n + c.batch, 0);
    const out = Store.allocate(first.buffers.length, batch, first.rowSize, length);
    out.buffers.forEach((dst, j) => {
      let row = 0;
      for (const c of caches) {
        const size = c.store.positionSize;
        const src = c.store.buffers[j]!;
        const pad = length - c.length;
        for (let p = 0; p < c.length; p++) dst.set(src.subarray(p * size, (p + 1) * size), (pad + p) * out.positionSize + row * first.rowSize);
        row += c.batch;
      }
    });
    out.length = length;
    return new AppendKvCache(out, length);
  }
}
