import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Hnsw } from '../../../../src/rag/store/sqlite/hnsw.js';
import { Rng } from '../../../../src/core/rng.js';

/** Uniform [0, 1) numbers from Forja's seeded Rng. */
function rng(seed: number): () => number {
  const r = new Rng(seed);
  return () => r.next();
}

/** `n` vectors around `clusters` random centres (spread 0.35 of a centre's scale), as a row-major matrix. */
function clustered(n: number, dim: number, clusters: number, seed: number): Float32Array {
  const r = rng(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(r() + 1e-12)) * Math.cos(2 * Math.PI * r());
  const centres = Array.from({ length: clusters }, () => Float32Array.from({ length: dim }, gauss));
  const out = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) {
    const c = centres[Math.floor(r() * clusters)]!;
    for (let j = 0; j < dim; j++) out[i * dim + j] = c[j]! + 0.35 * gauss();
  }
  return out;
}

function row(m: Float32Array, dim: number, i: number): Float32Array {
  return m.subarray(i * dim, (i + 1) * dim);
}

/** Exact cosine top-k ids (ties to the smaller id) among ids that `keep` admits. */
function exact(data: Float32Array, dim: number, q: Float32Array, k: number, keep: (id: number) => boolean = () => true): number[] {
  const n = data.length / dim;
  const norm = (v: Float32Array) => Math.sqrt(v.reduce((a, x) => a + x * x, 0));
  const qn = norm(q);
  const scored: [number, number][] = [];
  for (let i = 0; i < n; i++) {
    if (!keep(i)) continue;
    const v = row(data, dim, i);
    let dot = 0;
    for (let j = 0; j < dim; j++) dot += q[j]! * v[j]!;
    scored.push([dot / (qn * norm(v)), i]);
  }
  scored.sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  return scored.slice(0, k).map((s) => s[1]);
}

function recall(got: number[], want: number[]): number {
  const w = new Set(want);
  return got.filter((g) => w.has(g)).length / want.length;
}

const DIM = 64;
const N = 5000;
// Queries are drawn around the same centres as the data, but are not in it.
const all = clustered(N + 100, DIM, 50, 7);
const data = all.subarray(0, N * DIM);
const queries = all.subarray(N * DIM);
const build = (seed = 3, n = N) => {
  const g = new Hnsw(DIM, { m: 16, efConstruction: 200, seed });
  for (let i = 0; i < n; i++) g.insert(i, row(data, DIM, i));
  return g;
};
const graph = build();

test('recall@10 against exact search is at least 0.95 on 5,000 clustered 64-d vectors', () => {
  let total = 0;
  for (let qi = 0; qi < 100; qi++) {
    const q = row(queries, DIM, qi);
    const hits = graph.search(graph.normalise(q), 10, 64);
    assert.equal(hits.length, 10);
    for (let i = 1; i < hits.length; i++) assert.ok(hits[i - 1]!.score >= hits[i]!.score, 'best first');
    total += recall(
      hits.map((h) => h.id),
      exact(data, DIM, q, 10),
    );
  }
  const r = total / 100;
  assert.ok(r >= 0.95, `recall@10 ${r}`);
});

test('scores are the cosine similarity of the query and the hit', () => {
  const q = row(queries, DIM, 0);
  const [hit] = graph.search(graph.normalise(q), 1, 64);
  const v = row(data, DIM, hit!.id);
  let dot = 0;
  let qq = 0;
  let vv = 0;
  for (let j = 0; j < DIM; j++) {
    dot += q[j]! * v[j]!;
    qq += q[j]! * q[j]!;
    vv += v[j]! * v[j]!;
  }
  assert.ok(Math.abs(hit!.score - dot / Math.sqrt(qq * vv)) < 1e-5);
});

test('the same seed and insertions give the same graph; another seed a different one', () => {
  assert.deepEqual(build(3, 1500).serialize(), build(3, 1500).serialize());
  assert.notDeepEqual(build(4, 1500).serialize(), build(3, 1500).serialize());
});

test('tombstoned ids are never returned, and purging them keeps recall', () => {
  const g = build();
  const r = rng(11);
  const deleted = new Set<number>();
  while (deleted.size < 1500) deleted.add(Math.floor(r() * N));
  for (const id of deleted) assert.equal(g.delete(id), true);
  assert.equal(g.delete([...deleted][0]!), false, 'deleting twice');
  assert.equal(g.size, N - deleted.size);
  const check = (label: string) => {
    let total = 0;
    for (let qi = 0; qi < 50; qi++) {
      const q = row(queries, DIM, qi);
      const hits = g.search(g.normalise(q), 10, 64);
      assert.equal(hits.length, 10, label);
      for (const h of hits) assert.ok(!deleted.has(h.id), `${label}: deleted id ${h.id} returned`);
      total += recall(
        hits.map((h) => h.id),
        exact(data, DIM, q, 10, (id) => !deleted.has(id)),
      );
    }
    assert.ok(total / 50 >= 0.95, `${label}: recall@10 ${total / 50}`);
  };
  check('tombstoned');
  assert.equal(g.purgeDeleted(), deleted.size);
  assert.equal(g.tombstones, 0);
  for (const id of deleted) assert.equal(g.has(id), false);
  check('purged');
});

test('a filter admits only its ids', () => {
  const hits = graph.search(graph.normalise(row(queries, DIM, 3)), 10, 200, (slot) => graph.idOf(slot) % 3 === 0);
  assert.equal(hits.length, 10);
  for (const h of hits) assert.equal(h.id % 3, 0);
});

test('a graph survives serialize/deserialize: same results, and insertion goes on as if never saved', () => {
  const g = new Hnsw(DIM, { seed: 5 });
  for (let i = 0; i < 1000; i++) g.insert(i, row(data, DIM, i));
  const loaded = Hnsw.deserialize(g.serialize())!;
  assert.ok(loaded);
  assert.equal(loaded.tombstones, 1000, 'waiting for vectors');
  for (let i = 0; i < 999; i++) assert.equal(loaded.attach(i, row(data, DIM, i)), true);
  assert.equal(loaded.attach(5000, row(data, DIM, 0)), false);
  // Node 999 got no vector (deleted while the graph was on disk): it is unlinked.
  assert.equal(loaded.purgeDeleted(), 1);
  g.delete(999);
  g.purgeDeleted();
  assert.deepEqual(loaded.serialize(), g.serialize());
  for (let i = 1000; i < 1500; i++) {
    g.insert(i, row(data, DIM, i));
    loaded.insert(i, row(data, DIM, i));
  }
  assert.deepEqual(loaded.serialize(), g.serialize());
  const q = loaded.normalise(row(queries, DIM, 9));
  assert.deepEqual(loaded.search(q, 10, 64), g.search(q, 10, 64));
});

test('bad input is refused with what is wrong', () => {
  assert.throws(() => new Hnsw(0), /dimension must be an integer >= 1, got 0/);
  assert.throws(() => new Hnsw(8, { m: 1 }), /m must be an integer >= 2, got 1/);
  assert.throws(() => new Hnsw(8, { efConstruction: 1.5 }), /efConstruction must be an integer >= 1, got 1.5/);
  const g = new Hnsw(4);
  g.insert(1, [1, 0, 0, 0]);
  assert.throws(() => g.insert(1, [0, 1, 0, 0]), /id 1 is already in the graph/);
  assert.throws(() => g.insert(2, [1, 0]), /vector of id 2 has 2 values, not 4/);
  assert.throws(() => g.normalise([1]), /query has 1 values, not 4/);
  assert.equal(Hnsw.deserialize(Buffer.from('not a graph at all, surely')), undefined);
  g.delete(1);
  assert.throws(() => g.serialize(), /purge the tombstones first/);
});
