/**
 * HNSW (Malkov & Yashunin, "Efficient and robust approximate nearest neighbor search using Hierarchical
 * Navigable Small World graphs", 2018): cosine similarity over vectors normalised on insertion and held as
 * float32. Nodes live in slots; a slot's level comes from a seeded generator whose state is part of the
 * graph, so the same insertions give the same graph, also across a save and a load. Deletion marks a
 * tombstone (still routed through, never returned); `purgeDeleted` unlinks tombstones and repairs the
 * lists that pointed at them, using only the vectors of live nodes.
 */
import { Rng } from '../../../core/rng.js';
import { Heap } from './heap.js';

export interface HnswOptions {
  /** Links per node on the upper levels; level 0 keeps 2·m. Default 16. */
  m?: number;
  /** Candidate list size while inserting. Default 200. */
  efConstruction?: number;
  /** Seeds level generation. Default 1. */
  seed?: number;
}

export interface HnswHit {
  slot: number;
  id: number;
  score: number;
}

const MAGIC = 0x57534e48; // "HNSW"
const FORMAT = 1;
const HEADER_INTS = 10;
const LIVE = 0;
const TOMBSTONE = 1;
/** A node whose vector was not supplied on load: it can be unlinked, not scored. */
const LOST = 2;

function positiveInt(value: number, name: string, min = 1): number {
  if (!(Number.isInteger(value) && value >= min)) throw new RangeError(`HNSW ${name} must be an integer >= ${min}, got ${value}`);
  return value;
}

export class Hnsw {
  readonly dimension: number;
  readonly m: number;
  readonly efConstruction: number;
  private readonly mMax0: number;
  private readonly levelMult: number;
  /** Draws node levels; its state is saved with the graph so insertion continues the same stream. */
  private readonly rng: Rng;
  private slots = 0;
  private vectors: Float32Array;
  private ids: Float64Array;
  private levels: Int32Array;
  private flags: Uint8Array;
  /** Level 0: per slot a count then 2·m neighbour slots. */
  private base: Int32Array;
  /** Levels 1..level: per level a count then m neighbour slots. */
  private upper: (Int32Array | undefined)[] = [];
  private readonly slotById = new Map<number, number>();
  private entry = -1;
  private maxLevel = -1;
  private tombstoned = 0;
  private visited = new Uint32Array(0);
  private epoch = 0;
  private readonly candidates = new Heap();
  private readonly results = new Heap();

  constructor(dimension: number, options: HnswOptions = {}) {
    this.dimension = positiveInt(dimension, 'dimension');
    this.m = positiveInt(options.m ?? 16, 'm', 2);
    this.efConstruction = positiveInt(options.efConstruction ?? 200, 'efConstruction');
    this.rng = new Rng((positiveInt(options.seed ?? 1, 'seed', 0) >>> 0) || 1);
    this.mMax0 = 2 * this.m;
    this.levelMult = 1 / Math.log(this.m);
    this.vectors = new Float32Array(0);
    this.ids = new Float64Array(0);
    this.levels = new Int32Array(0);
    this.flags = new Uint8Array(0);
    this.base = new Int32Array(0);
  }

  /** Live (not tombstoned) nodes. */
  get size(): number {
    return this.slotById.size - this.tombstoned;
  }

  get tombstones(): number {
    return this.tombstoned;
  }

  /** Slots ever used, including unlinked ones; slots are not reused. */
  get capacity(): number {
    return this.slots;
  }

  has(id: number): boolean {
    const s = this.slotById.get(id);
    return s !== undefined && this.flags[s] === LIVE;
  }

  slotOf(id: number): number | undefined {
    const s = this.slotById.get(id);
    return s !== undefined && this.flags[s] === LIVE ? s : undefined;
  }

  /** Every id with a node, tombstoned or not. */
  nodeIds(): IterableIterator<number> {
    return this.slotById.keys();
  }

  insert(id: number, vector: ArrayLike<number>): void {
    if (!Number.isSafeInteger(id)) throw new TypeError(`HNSW insert: id ${id} is not an integer`);
    if (this.slotById.has(id)) throw new Error(`HNSW insert: id ${id} is already in the graph`);
    if (vector.length !== this.dimension) throw new RangeError(`HNSW insert: vector of id ${id} has ${vector.length} values, not ${this.dimension}`);
    const slot = this.allocate(id, this.randomLevel());
    this.setVector(slot, vector);
    this.link(slot);
  }

  /** Tombstones `id`; false when it has no live node. */
  delete(id: number): boolean {
    const s = this.slotById.get(id);
    if (s === undefined || this.flags[s] !== LIVE) return false;
    this.flags[s] = TOMBSTONE;
    this.tombstoned++;
    return true;
  }

  /** `query` normalised to unit length (zero stays zero), ready for `search` and `score`. */
  normalise(query: ArrayLike<number>): Float32Array {
    if (query.length !== this.dimension) throw new RangeError(`HNSW: query has ${query.length} values, not ${this.dimension}`);
    const out = new Float32Array(this.dimension);
    let s = 0;
    for (let j = 0; j < query.length; j++) s += query[j]! * query[j]!;
    const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
    for (let j = 0; j < query.length; j++) out[j] = query[j]! * inv;
    return out;
  }

  /** Cosine of a normalised query with a slot's vector. */
  score(q: Float32Array, slot: number): number {
    return dot(q, 0, this.vectors, slot * this.dimension, this.dimension);
  }

  idOf(slot: number): number {
    return this.ids[slot]!;
  }

  /**
   * The `k` best live nodes that `accept` admits (all when undefined), best first, ties to the smaller id.
   * `q` must come from `normalise`. Approximate: a restrictive `accept` may return fewer than k.
   */
  search(q: Float32Array, k: number, ef: number, accept?: (slot: number) => boolean): HnswHit[] {
    if (k === 0 || this.entry < 0) return [];
    let ep = this.entry;
    let best = this.score(q, ep);
    for (let l = this.maxLevel; l > 0; l--) [ep, best] = this.greedy(q, ep, best, l);
    const ok = (s: number) => this.flags[s] === LIVE && (accept === undefined || accept(s));
    const found = this.searchLayer(q, ep, best, Math.max(ef, k), 0, ok);
    const hits = found.map(([score, slot]) => ({ slot, id: this.ids[slot]!, score }));
    hits.sort((a, b) => b.score - a.score || a.id - b.id);
    return hits.slice(0, k);
  }

  /**
   * Unlinks every tombstone and lost node: each list that pointed at one takes its neighbours as
   * candidates and is re-pruned by the heuristic. Returns how many nodes were unlinked.
   */
  purgeDeleted(): number {
    const gone: number[] = [];
    for (const s of this.slotById.values()) if (this.flags[s] !== LIVE) gone.push(s);
    if (gone.length === 0) return 0;
    const live = (s: number) => this.flags[s] === LIVE;
    const repairs: { slot: number; level: number; list: number[] }[] = [];
    for (const u of this.slotById.values()) {
      if (!live(u)) continue;
      for (let l = 0; l <= this.levels[u]!; l++) {
        const [arr, off] = this.list(u, l);
        const n = arr[off]!;
        let touched = false;
        for (let i = 1; i <= n; i++) if (!live(arr[off + i]!)) touched = true;
        if (!touched) continue;
        const cands = new Set<number>();
        for (let i = 1; i <= n; i++) {
          const v = arr[off + i]!;
          if (live(v)) cands.add(v);
          else {
            const [a2, o2] = this.list(v, l);
            for (let j = 1; j <= a2[o2]!; j++) if (live(a2[o2 + j]!) && a2[o2 + j] !== u) cands.add(a2[o2 + j]!);
          }
        }
        repairs.push({ slot: u, level: l, list: this.prune(u, [...cands], this.maxLinks(l)) });
      }
    }
    for (const r of repairs) this.setList(r.slot, r.level, r.list);
    for (const s of gone) {
      this.slotById.delete(this.ids[s]!);
      this.levels[s] = -1;
      this.flags[s] = LIVE;
      this.base[s * (this.mMax0 + 1)] = 0;
      this.upper[s] = undefined;
      this.vectors.fill(0, s * this.dimension, (s + 1) * this.dimension);
    }
    this.tombstoned = 0;
    if (this.entry >= 0 && this.levels[this.entry]! < 0) {
      this.entry = -1;
      this.maxLevel = -1;
      for (const s of this.slotById.values()) {
        if (this.levels[s]! > this.maxLevel) {
          this.maxLevel = this.levels[s]!;
          this.entry = s;
        }
      }
    }
    return gone.length;
  }

  /** The graph without its vectors (they stay with the chunks); refuses while tombstones remain. */
  serialize(): Buffer {
    if (this.tombstoned > 0) throw new Error('HNSW serialize: purge the tombstones first (their vectors are not saved)');
    const n = this.slots;
    const upperInts = this.upper.reduce((a, u, s) => a + (u && this.levels[s]! > 0 ? this.levels[s]! * (this.m + 1) : 0), 0);
    const bytes = HEADER_INTS * 4 + n * 8 + n * 4 + n * (this.mMax0 + 1) * 4 + upperInts * 4;
    const buf = Buffer.alloc(bytes);
    const header = new Int32Array(buf.buffer, buf.byteOffset, HEADER_INTS);
    header.set([MAGIC, FORMAT, this.dimension, this.m, this.efConstruction, this.rng.state | 0, n, this.entry, this.maxLevel, 0]);
    let o = HEADER_INTS * 4;
    buf.set(new Uint8Array(this.ids.buffer, 0, n * 8), o);
    o += n * 8;
    buf.set(new Uint8Array(this.levels.buffer, 0, n * 4), o);
    o += n * 4;
    buf.set(new Uint8Array(this.base.buffer, 0, n * (this.mMax0 + 1) * 4), o);
    o += n * (this.mMax0 + 1) * 4;
    for (let s = 0; s < n; s++) {
      const u = this.upper[s];
      if (!u || this.levels[s]! <= 0) continue;
      const len = this.levels[s]! * (this.m + 1) * 4;
      buf.set(new Uint8Array(u.buffer, u.byteOffset, len), o);
      o += len;
    }
    return buf;
  }

  /**
   * A graph from `serialize`, its vectors still to come through `attach`; `purgeDeleted` then unlinks the
   * nodes that got none. Returns undefined for bytes that are not a graph of this format.
   */
  static deserialize(blob: Uint8Array): Hnsw | undefined {
    if (blob.byteLength < HEADER_INTS * 4) return undefined;
    const bytes = new Uint8Array(blob.byteLength);
    bytes.set(blob); // aligned copy
    const h = new Int32Array(bytes.buffer, 0, HEADER_INTS);
    if (h[0] !== MAGIC || h[1] !== FORMAT) return undefined;
    const [, , dim, m, efC, rng, n, entry, maxLevel] = h as unknown as number[];
    if (!(dim! > 0 && m! >= 2 && efC! > 0 && n! >= 0)) return undefined;
    const g = new Hnsw(dim!, { m: m!, efConstruction: efC! });
    g.rng.state = rng! >>> 0;
    const stride = g.mMax0 + 1;
    let o = HEADER_INTS * 4;
    if (bytes.byteLength < o + n! * (8 + 4 + stride * 4)) return undefined;
    g.grow(n!);
    g.ids.set(new Float64Array(bytes.buffer, o, n!));
    o += n! * 8;
    g.levels.set(new Int32Array(bytes.buffer, o, n!));
    o += n! * 4;
    g.base.set(new Int32Array(bytes.buffer, o, n! * stride));
    o += n! * stride * 4;
    for (let s = 0; s < n!; s++) {
      const level = g.levels[s]!;
      if (level < 0) continue;
      g.slotById.set(g.ids[s]!, s);
      g.flags[s] = LOST;
      if (level === 0) continue;
      const len = level * (m! + 1);
      if (o + len * 4 > bytes.byteLength) return undefined;
      g.upper[s] = new Int32Array(bytes.buffer.slice(o, o + len * 4));
      o += len * 4;
    }
    if (o !== bytes.byteLength) return undefined;
    g.slots = n!;
    g.tombstoned = g.slotById.size;
    g.entry = entry!;
    g.maxLevel = maxLevel!;
    return g;
  }

  /** Gives a loaded node its vector; false when `id` has no node waiting for one. */
  attach(id: number, vector: ArrayLike<number>): boolean {
    const s = this.slotById.get(id);
    if (s === undefined || this.flags[s] !== LOST) return false;
    if (vector.length !== this.dimension) throw new RangeError(`HNSW attach: vector of id ${id} has ${vector.length} values, not ${this.dimension}`);
    this.setVector(s, vector);
    this.flags[s] = LIVE;
    this.tombstoned--;
    return true;
  }

  private randomLevel(): number {
    const u = 1 - this.rng.next(); // in (0, 1]: the log stays finite
    return Math.min(Math.floor(-Math.log(u) * this.levelMult), 30);
  }

  private grow(min: number): void {
    if (min <= this.ids.length) return;
    const cap = Math.max(min, this.ids.length * 2, 1024);
    const grown = <T extends Float32Array | Float64Array | Int32Array | Uint8Array>(a: T, n: number, make: (n: number) => T): T => {
      const b = make(n);
      b.set(a as never);
      return b;
    };
    this.vectors = grown(this.vectors, cap * this.dimension, (n) => new Float32Array(n));
    this.ids = grown(this.ids, cap, (n) => new Float64Array(n));
    this.levels = grown(this.levels, cap, (n) => new Int32Array(n));
    this.flags = grown(this.flags, cap, (n) => new Uint8Array(n));
    this.base = grown(this.base, cap * (this.mMax0 + 1), (n) => new Int32Array(n));
  }

  private allocate(id: number, level: number): number {
    const slot = this.slots;
    this.grow(slot + 1);
    this.slots++;
    this.ids[slot] = id;
    this.levels[slot] = level;
    this.flags[slot] = LIVE;
    this.upper[slot] = level > 0 ? new Int32Array(level * (this.m + 1)) : undefined;
    this.slotById.set(id, slot);
    return slot;
  }

  private setVector(slot: number, vector: ArrayLike<number>): void {
    this.vectors.set(this.normalise(vector), slot * this.dimension);
  }

  private maxLinks(level: number): number {
    return level === 0 ? this.mMax0 : this.m;
  }

  /** The array holding `slot`'s list at `level`, and the offset of its count. */
  private list(slot: number, level: number): [Int32Array, number] {
    if (level === 0) return [this.base, slot * (this.mMax0 + 1)];
    return [this.upper[slot]!, (level - 1) * (this.m + 1)];
  }

  private setList(slot: number, level: number, neighbours: readonly number[]): void {
    const [arr, off] = this.list(slot, level);
    arr[off] = neighbours.length;
    for (let i = 0; i < neighbours.length; i++) arr[off + 1 + i] = neighbours[i]!;
  }

  private sim(a: number, b: number): number {
    return dot(this.vectors, a * this.dimension, this.vectors, b * this.dimension, this.dimension);
  }

  private greedy(q: Float32Array, ep: number, best: number, level: number): [number, number] {
    for (let changed = true; changed; ) {
      changed = false;
      const [arr, off] = this.list(ep, level);
      for (let i = 1; i <= arr[off]!; i++) {
        const v = arr[off + i]!;
        const s = this.score(q, v);
        if (s > best) {
          best = s;
          ep = v;
          changed = true;
        }
      }
    }
    return [ep, best];
  }

  /** Best-first search of one level; returns up to `ef` accepted (score, slot) pairs, unordered. */
  private searchLayer(q: Float32Array, ep: number, epScore: number, ef: number, level: number, accept?: (s: number) => boolean): [number, number][] {
    if (this.visited.length < this.slots) this.visited = new Uint32Array(Math.max(this.slots, this.visited.length * 2));
    if (++this.epoch === 0xffffffff) {
      this.visited.fill(0);
      this.epoch = 1;
    }
    const { visited, epoch, candidates, results } = this;
    candidates.clear();
    results.clear();
    visited[ep] = epoch;
    candidates.push(-epScore, ep);
    if (!accept || accept(ep)) results.push(epScore, ep);
    while (candidates.size > 0) {
      const cScore = -candidates.keys[0]!;
      const c = candidates.vals[0]!;
      if (results.size >= ef && cScore < results.keys[0]!) break;
      candidates.pop();
      const [arr, off] = this.list(c, level);
      const n = arr[off]!;
      for (let i = 1; i <= n; i++) {
        const v = arr[off + i]!;
        if (visited[v] === epoch) continue;
        visited[v] = epoch;
        const s = this.score(q, v);
        if (results.size < ef || s > results.keys[0]!) {
          candidates.push(-s, v);
          if (!accept || accept(v)) {
            results.push(s, v);
            if (results.size > ef) results.pop();
          }
        }
      }
    }
    const out: [number, number][] = [];
    for (let i = 0; i < results.size; i++) out.push([results.keys[i]!, results.vals[i]!]);
    return out;
  }

  /** The paper's heuristic (Algorithm 4): keep a candidate only if it is closer to `slot` than to every kept one. */
  private prune(slot: number, cands: number[], max: number): number[] {
    const scored = cands.map((c) => [this.sim(slot, c), c] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
    return this.select(scored, max);
  }

  private select(scored: readonly (readonly [number, number])[], max: number): number[] {
    const kept: number[] = [];
    for (const [s, c] of scored) {
      if (kept.length >= max) break;
      let good = true;
      for (const r of kept) {
        if (this.sim(c, r) > s) {
          good = false;
          break;
        }
      }
      if (good) kept.push(c);
    }
    return kept;
  }

  private link(slot: number): void {
    const level = this.levels[slot]!;
    if (this.entry < 0) {
      this.entry = slot;
      this.maxLevel = level;
      return;
    }
    const q = this.vectors.subarray(slot * this.dimension, (slot + 1) * this.dimension);
    let ep = this.entry;
    let best = this.score(q, ep);
    for (let l = this.maxLevel; l > level; l--) [ep, best] = this.greedy(q, ep, best, l);
    for (let l = Math.min(level, this.maxLevel); l >= 0; l--) {
      const found = this.searchLayer(q, ep, best, this.efConstruction, l).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
      const neighbours = this.select(found, this.m);
      this.setList(slot, l, neighbours);
      const max = this.maxLinks(l);
      for (const e of neighbours) {
        const [arr, off] = this.list(e, l);
        const n = arr[off]!;
        if (n < max) {
          arr[off + 1 + n] = slot;
          arr[off] = n + 1;
        } else {
          const cands = [slot];
          for (let i = 1; i <= n; i++) cands.push(arr[off + i]!);
          this.setList(e, l, this.prune(e, cands, max));
        }
      }
      [best, ep] = found[0]!;
    }
    if (level > this.maxLevel) {
      this.entry = slot;
      this.maxLevel = level;
    }
  }
}

/** x[xo..xo+d) · y[yo..yo+d), in four running sums (the hot loop of every search and insert). */
function dot(x: Float32Array, xo: number, y: Float32Array, yo: number, d: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let j = 0;
  for (; j + 3 < d; j += 4) {
    s0 += x[xo + j]! * y[yo + j]!;
    s1 += x[xo + j + 1]! * y[yo + j + 1]!;
    s2 += x[xo + j + 2]! * y[yo + j + 2]!;
    s3 += x[xo + j + 3]! * y[yo + j + 3]!;
  }
  for (; j < d; j++) s0 += x[xo + j]! * y[yo + j]!;
  return s0 + s1 + s2 + s3;
}
