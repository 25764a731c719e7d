/**
 * The HNSW graph (./hnsw.ts) behind the store's VectorIndex seam, for stores past `annThreshold` chunks.
 * The graph is kept in memory and brought up to date lazily, on the first dense search after a write:
 * chunk ids are never reused and a chunk's vector never changes, so the difference between the graph's
 * ids and the catalog's says everything (deleted ids are tombstoned, new ones inserted). It is saved,
 * without vectors, as one blob in `hnsw_graph` with the generation it matches, in its own transaction
 * after the search; a save that would wait for another writer is skipped (the graph is a cache, and the
 * next search saves it). On open a saved graph is loaded, given its vectors from the chunks, and updated.
 */
import { StoreCorruptError } from '../../errors.js';
import type { VectorHit } from '../types.js';
import type { Catalog } from './catalog.js';
import type { Db } from './connection.js';
import { Hnsw, type HnswOptions } from './hnsw.js';
import { TopK, type VectorIndex } from './vector-index.js';

export interface AnnOptions extends HnswOptions {
  /** Candidate list size while searching; a search uses at least k. Default 64. */
  efSearch?: number;
}

/** A filter admitting fewer than this share of the chunks is searched exactly over its chunks. */
const SELECTIVE = 0.1;
/** Rebuild from scratch once more than this share of slots holds deleted nodes. */
const REBUILD_SHARE = 0.5;

function check(value: number | undefined, name: string, min: number): void {
  if (value !== undefined && !(Number.isInteger(value) && value >= min)) {
    throw new RangeError(`SqliteStore option hnsw.${name} must be an integer >= ${min}, got ${value}`);
  }
}

export function checkAnnOptions(o: AnnOptions): void {
  check(o.m, 'm', 2);
  check(o.efConstruction, 'efConstruction', 1);
  check(o.efSearch, 'efSearch', 1);
  check(o.seed, 'seed', 0);
}

function float32s(blob: Buffer): Float32Array {
  const out = new Float32Array(blob.byteLength >> 2);
  new Uint8Array(out.buffer).set(blob);
  return out;
}

class HnswVectorIndex implements VectorIndex {
  constructor(
    private readonly graph: Hnsw,
    /** Catalog row -> graph slot, -1 for a chunk without a vector. */
    private readonly rowSlot: Int32Array,
    /** Graph slot -> catalog row. */
    private readonly slotRow: Int32Array,
    private readonly efSearch: number,
  ) {}

  search(query: Float32Array, k: number, mask: Uint8Array | undefined): VectorHit[] {
    const g = this.graph;
    const q = g.normalise(query);
    let selected = this.rowSlot.length;
    if (mask) {
      selected = 0;
      for (let r = 0; r < mask.length; r++) selected += mask[r]!;
    }
    const want = Math.min(k, selected);
    if (want === 0) return [];
    const share = selected / this.rowSlot.length;
    if (share >= SELECTIVE) {
      const ef = Math.ceil(Math.max(this.efSearch, k) / share);
      const accept = mask ? (s: number) => mask[this.slotRow[s]!] === 1 : undefined;
      const hits = g.search(q, k, ef, accept);
      // A filter may cut the graph into pieces the search does not reach; exact search never misses.
      if (hits.length >= want) return hits.map((h) => ({ chunkId: h.id, score: h.score }));
    }
    const top = new TopK(k);
    for (let r = 0; r < this.rowSlot.length; r++) {
      if (mask && mask[r] === 0) continue;
      const s = this.rowSlot[r]!;
      if (s >= 0) top.offer(g.score(q, s), g.idOf(s));
    }
    return top.sorted();
  }
}

export class AnnIndexCache {
  private graph: Hnsw | undefined;
  private graphGeneration = -1;
  private builds = 0;
  private dirty = false;
  private view: { generation: number; index: VectorIndex } | undefined;
  private readonly statements;

  constructor(
    private readonly db: Db,
    private readonly location: string,
    private readonly options: AnnOptions,
  ) {
    checkAnnOptions(options);
    const p = (sql: string) => db.prepare(sql);
    this.statements = {
      hasTable: p("SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'hnsw_graph'").pluck(),
      generation: p("SELECT value FROM meta WHERE key = 'generation'").pluck(),
      embeddings: p('SELECT id, embedding FROM chunks').raw(),
      vectorsOf: p('SELECT c.id, c.embedding FROM json_each(?) j JOIN chunks c ON c.id = j.value WHERE c.embedding IS NOT NULL').raw(),
    };
  }

  /** Call inside a read transaction, with the catalog of the same snapshot. */
  index(catalog: Catalog, dimension: number): VectorIndex {
    if (this.view?.generation === catalog.generation) return this.view.index;
    if (this.graph === undefined || this.graph.dimension !== dimension) this.load(catalog, dimension);
    else if (this.graphGeneration !== catalog.generation) this.update(catalog, dimension);
    const g = this.graph!;
    const rowSlot = new Int32Array(catalog.size).fill(-1);
    const slotRow = new Int32Array(g.capacity).fill(-1);
    for (let r = 0; r < catalog.size; r++) {
      const s = g.slotOf(catalog.ids[r]!);
      if (s === undefined) continue;
      rowSlot[r] = s;
      slotRow[s] = r;
    }
    const index = new HnswVectorIndex(g, rowSlot, slotRow, this.options.efSearch ?? 64);
    this.view = { generation: catalog.generation, index };
    return index;
  }

  /**
   * Saves a graph changed since it was loaded, if the store is still at its generation. Tombstones are
   * purged first: the saved graph holds no vectors, so it cannot route through deleted nodes.
   */
  persist(): void {
    if (!this.dirty || this.graph === undefined) return;
    const graph = this.graph;
    const previous = this.db.pragma('busy_timeout', { simple: true }) as number;
    this.db.pragma('busy_timeout = 0');
    try {
      this.db
        .transaction(() => {
          if (Number(this.statements.generation.get()) !== this.graphGeneration) return;
          this.db.exec(
            'CREATE TABLE IF NOT EXISTS hnsw_graph (id INTEGER PRIMARY KEY CHECK (id = 1), generation INTEGER NOT NULL, builds INTEGER NOT NULL, graph BLOB NOT NULL)',
          );
          graph.purgeDeleted();
          this.db
            .prepare('INSERT INTO hnsw_graph(id, generation, builds, graph) VALUES (1, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET generation = excluded.generation, builds = excluded.builds, graph = excluded.graph')
            .run(this.graphGeneration, this.builds, graph.serialize());
          this.dirty = false;
        })
        .immediate();
    } catch (e) {
      const code = (e as { code?: unknown }).code;
      if (!(typeof code === 'string' && (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')))) throw e;
    } finally {
      this.db.pragma(`busy_timeout = ${previous}`);
    }
  }

  private sameParameters(g: Hnsw, dimension: number): boolean {
    const o = this.options;
    return g.dimension === dimension && g.m === (o.m ?? 16) && g.efConstruction === (o.efConstruction ?? 200);
  }

  /** Deleted nodes (tombstoned or unlinked) take too many slots. */
  private mostlyDeleted(g: Hnsw): boolean {
    return g.capacity - g.size > REBUILD_SHARE * Math.max(g.capacity, 1);
  }

  private load(catalog: Catalog, dimension: number): void {
    let g: Hnsw | undefined;
    if ((this.statements.hasTable.get() as number) > 0) {
      const row = this.db.prepare('SELECT builds, graph FROM hnsw_graph WHERE id = 1').raw().get() as [number, Buffer] | undefined;
      if (row) {
        this.builds = row[0];
        g = Hnsw.deserialize(row[1]);
      }
    }
    if (g === undefined || !this.sameParameters(g, dimension)) {
      this.rebuild(catalog, dimension);
      return;
    }
    const added: [number, Float32Array][] = [];
    for (const [id, blob] of this.statements.embeddings.iterate() as IterableIterator<[number, Buffer | null]>) {
      if (blob === null || catalog.row(id) === undefined) continue;
      const v = this.vector(id, blob, dimension);
      if (!g.attach(id, v)) added.push([id, v]);
    }
    // Nodes left without a vector were deleted while the graph was on disk.
    if (g.purgeDeleted() > 0) this.dirty = true;
    if (this.mostlyDeleted(g)) {
      this.rebuild(catalog, dimension);
      return;
    }
    for (const [id, v] of added) g.insert(id, v);
    if (added.length > 0) this.dirty = true;
    this.graph = g;
    this.graphGeneration = catalog.generation;
  }

  private update(catalog: Catalog, dimension: number): void {
    const g = this.graph!;
    for (const id of [...g.nodeIds()]) if (catalog.row(id) === undefined) g.delete(id);
    const fresh: number[] = [];
    for (let r = 0; r < catalog.size; r++) if (!g.has(catalog.ids[r]!)) fresh.push(catalog.ids[r]!);
    if (this.mostlyDeleted(g)) {
      this.rebuild(catalog, dimension);
      return;
    }
    for (const [id, blob] of this.statements.vectorsOf.all(JSON.stringify(fresh)) as [number, Buffer][]) g.insert(id, this.vector(id, blob, dimension));
    this.graphGeneration = catalog.generation;
    this.dirty = true;
  }

  private rebuild(catalog: Catalog, dimension: number): void {
    const o = this.options;
    const g = new Hnsw(dimension, { m: o.m, efConstruction: o.efConstruction, seed: o.seed });
    for (const [id, blob] of this.statements.embeddings.iterate() as IterableIterator<[number, Buffer | null]>) {
      if (blob !== null && catalog.row(id) !== undefined) g.insert(id, this.vector(id, blob, dimension));
    }
    this.graph = g;
    this.graphGeneration = catalog.generation;
    this.builds++;
    this.dirty = true;
  }

  private vector(id: number, blob: Buffer, dimension: number): Float32Array {
    if (blob.byteLength !== dimension * 4) {
      throw new StoreCorruptError(this.location, `chunk ${id} has a vector of ${blob.byteLength} bytes, not ${dimension} float32s`);
    }
    return float32s(blob);
  }
}
