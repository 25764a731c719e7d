/**
 * The KV cache an 'append' inference graph (inference-graph.ts) runs on: per layer key then value,
 * each (batch, n_kv, capacity, hs), with spare capacity. A step feeds the buffers whole, as they lie
 * in memory, with an attention mask that hides the spare positions, and writes back only its new
 * positions, so its cost does not grow with the cache.
 *
 * Caches are values. Several may share one store; only the cache at the store's tip appends in
 * place, and any other is copied first (copy-on-write), so an older or cropped cache stays valid.
 */
import type ort from 'onnxruntime-node';
import { float32, int64 } from '../../runtime/session.js';
import type { KVCache } from '../../text/language-model.js';

/** What an 'append' graph step of `steps` new positions is fed from a cache, and the cache its outputs go into. */
export interface AppendStep {
  /** Per tensor, the whole store (batch, n_kv, capacity, hs). */
  past: ort.Tensor[];
  /** The attention mask over capacity + steps: the caller's mask with zeros at the spare positions. */
  attentionMask: ort.Tensor;
  /** The grown cache; `write` it the step's appended outputs. */
  next: AppendKvCache;
}

class Store {
  constructor(
    readonly batch: number,
    readonly heads: number,
    readonly headDim: number,
    readonly capacity: number,
    /** Per layer key then value, each batch × heads × capacity × headDim. */
    readonly buffers: readonly Float32Array[],
    /** Positions claimed so far; [0, length) never changes again. */
    public length: number,
  ) {}

  /** Floats from one (row, head) to the next. */
  get stride(): number {
    return this.capacity * this.headDim;
  }

  static allocate(like: { batch: number; heads: number; headDim: number }, tensors: number, capacity: number, batch = like.batch): Store {
    const buffers = Array.from({ length: tensors }, () => new Float32Array(batch * like.heads * capacity * like.headDim));
    return new Store(batch, like.heads, like.headDim, capacity, buffers, 0);
  }

  /**
   * Copies `count` positions of every head of row `row`, from position `from` of `src`, to row `toRow`
   * at position `to` of this store.
   */
  copyPositions(src: Store, row: number, from: number, count: number, toRow: number, to: number): void {
    const n = count * this.headDim;
    if (n === 0) return;
    src.buffers.forEach((b, j) => {
      const dst = this.buffers[j]!;
      for (let h = 0; h < this.heads; h++) {
        const at = (row * src.heads + h) * src.stride + from * src.headDim;
        dst.set(b.subarray(at, at + n), (toRow * this.heads + h) * this.stride + to * this.headDim);
      }
    });
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
  static empty(tensors: number, batch: number, kvHeads: number, headDim: number): AppendKvCache {
    return new AppendKvCache(Store.allocate({ batch, heads: kvHeads, headDim }, tensors, 0), 0);
  }

  /** Each tensor's positions [0, length), copied out as (batch, n_kv, length, hs): for inspection, a step never needs it. */
  positions(): Float32Array[] {
    const out = Store.allocate(this.store, this.store.buffers.length, this.length);
    for (let r = 0; r < this.batch; r++) out.copyPositions(this.store, r, 0, this.length, r, 0);
    return [...out.buffers];
  }

  /** The whole stores, as a step is fed them (for inspection: which caches share one). */
  buffers(): readonly Float32Array[] {
    return this.store.buffers;
  }

  /**
   * The feeds of a step from this cache (the stores as they are, no copy), and the cache it grows
   * into (`reserve`). `attentionMask` is the caller's [batch, length + steps].
   */
  beginStep(steps: number, maxCapacity: number, attentionMask: BigInt64Array): AppendStep {
    const { store, length } = this;
    const total = length + steps;
    if (attentionMask.length !== this.batch * total) throw new Error(`AppendKvCache.beginStep: the attention mask has ${attentionMask.length} entries, expected batch ${this.batch} × (cache ${length} + steps ${steps})`);
    const dims = [this.batch, store.heads, store.capacity, store.headDim];
    const past = store.buffers.map((b) => float32(b, dims));
    const width = store.capacity + steps;
    const mask = new BigInt64Array(this.batch * width);
    for (let r = 0; r < this.batch; r++) {
      mask.set(attentionMask.subarray(r * total, r * total + length), r * width);
      mask.set(attentionMask.subarray(r * total + length, (r + 1) * total), r * width + store.capacity);
    }
    return { past, attentionMask: int64(mask, [this.batch, width]), next: this.reserve(steps, maxCapacity) };
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
      store = Store.allocate(this.store, this.store.buffers.length, capacity);
      for (let r = 0; r < this.batch; r++) store.copyPositions(this.store, r, 0, this.length, r, 0);
    }
    store.length = total; // claimed now, so a second step from this cache copies instead of overwriting
    return new AppendKvCache(store, total);
  }

  /** Writes the claimed last `steps` positions: one (batch, n_kv, steps, hs) array per tensor. */
  write(steps: number, added: readonly Float32Array[]): void {
    const { store } = this;
    const perHead = steps * store.headDim;
    added.forEach((a, j) => {
      if (a.length !== store.batch * store.heads * perHead) {
        throw new Error(`AppendKvCache.write: tensor ${j} has ${a.length} floats, expected batch ${store.batch} × ${store.heads} heads × ${steps} positions × ${store.headDim}`);
      }
      const dst = store.buffers[j]!;
      for (let bh = 0; bh < store.batch * store.heads; bh++) dst.set(a.subarray(bh * perHead, (bh + 1) * perHead), bh * store.stride + (this.length - steps) * store.headDim);
    });
  }

  /** The first `length` positions, sharing this store (the next step from it copies). */
  crop(length: number): AppendKvCache {
    return new AppendKvCache(this.store, length);
  }

  /** Positions [start, length) of every row. */
  dropFirst(start: number): AppendKvCache {
    const length = this.length - start;
    const out = Store.allocate(this.store, this.store.buffers.length, length);
    for (let r = 0; r < this.batch; r++) out.copyPositions(this.store, r, start, length, r, 0);
    out.length = length;
    return new AppendKvCache(out, length);
  }

  /** The given rows, in order. */
  selectRows(rows: readonly number[]): AppendKvCache {
    const out = Store.allocate(this.store, this.store.buffers.length, this.length, rows.length);
    rows.forEach((row, i) => out.copyPositions(this.store, row, 0, this.length, i, 0));
    out.length = this.length;
    return new AppendKvCache(out, this.length);
  }

  /** The caches' rows stacked in order, each left-padded with zero positions to the longest. */
  static concatPadded(caches: readonly AppendKvCache[], where: string): AppendKvCache {
    if (caches.length === 0) throw new Error(`${where}: give at least one cache`);
    const first = caches[0]!.store;
    for (const [i, c] of caches.entries()) {
      const s = c.store;
      if (s.heads !== first.heads || s.headDim !== first.headDim || s.buffers.length !== first.buffers.length) {
        throw new Error(`${where}: cache ${i} holds ${s.buffers.length} tensors of ${s.heads} heads × ${s.headDim}, expected ${first.buffers.length} of ${first.heads} × ${first.headDim}`);
      }
    }
    const length = Math.max(...caches.map((c) => c.length));
    const batch = caches.reduce((n, c) => n + c.batch, 0);
    const out = Store.allocate(first, first.buffers.length, length, batch);
    let row = 0;
    for (const c of caches) {
      for (let r = 0; r < c.batch; r++) out.copyPositions(c.store, r, 0, c.length, row + r, length - c.length);
      row += c.batch;
    }
    out.length = length;
    return new AppendKvCache(out, length);
  }
}
