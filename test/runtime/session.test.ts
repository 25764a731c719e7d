import { describe, test, after } from 'node:test';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { nonDifferentiable, trace } from '../../src/core/graph.js';
import { Variable } from '../../src/core/variable.js';
import * as F from '../../src/core/ops/index.js';
import { grad } from '../../src/autodiff/grad.js';
import { CompiledGraph, float32, getThreads, int64, CompileCache, sessionOptions, setProfiling, setSpinning, setThreads } from '../../src/runtime/session.js';

function doublerGraph() {
  return trace((g) => {
    const x = g.input('x', ['batch', 'features']);
    return { g, x, y: F.mul(x, 2) };
  });
}

describe('CompiledGraph', () => {
  test('symbolic batch: one session serves two batch sizes (forward and gradient)', async () => {
    const w = new Variable('w', [3, 2], Float32Array.from([1, 0, 0, 1, 1, 1]));
    const { g, x, y, gw } = trace((g) => {
      const x = g.input('x', ['batch', 3]);
      const y = F.matmul(x, g.param(w));
      return { g, x, y, gw: grad(F.sum(y), [g.param(w)])[0]! };
    });
    const cg = await CompiledGraph.compile({ graph: g, inputs: [x], outputs: { y, gw }, variables: 'inputs' });
    for (const n of [1, 4]) {
      const xs = Float32Array.from({ length: 3 * n }, (_, i) => i + 1);
      const out = await cg.run({ x: float32(xs, [n, 3]) });
      assert.deepEqual(out.y!.dims, [n, 2]);
      const rowSums = [0, 1, 2].map((c) => Array.from({ length: n }, (_, r) => xs[r * 3 + c]!).reduce((a, b) => a + b, 0));
      // d Σ(xW) / dW[c, j] = Σ_rows x[r, c], the same for each output column j.
      assert.deepEqual(Array.from(out.gw!.data as Float32Array), rowSums.flatMap((s) => [s, s]));
    }
    await cg.release();
  });

  test('variables are read at every run', async () => {
    const w = new Variable('w', [2], Float32Array.from([1, 1]));
    const { g, x, y } = trace((g) => {
      const x = g.input('x', [2]);
      return { g, x, y: F.mul(x, g.param(w)) };
    });
    const cg = await CompiledGraph.compile({ graph: g, inputs: [x], outputs: { y }, variables: 'inputs' });
    const feeds = { x: float32(Float32Array.from([3, 4]), [2]) };
    assert.deepEqual(Array.from((await cg.run(feeds)).y!.data as Float32Array), [3, 4]);
    w.assign(Float32Array.from([2, -1]));
    assert.deepEqual(Array.from((await cg.run(feeds)).y!.data as Float32Array), [6, -4]);
    await cg.release();
  });

  test('a missing feed names the input; fetches select outputs', async () => {
    const { g, x, y } = doublerGraph();
    const z = trace(() => F.neg(y), g);
    const cg = await CompiledGraph.compile({ graph: g, inputs: [x], outputs: { y, z }, variables: 'inputs' });
    await assert.rejects(() => cg.run({}), /run: missing input 'x' \(expected x\)/);
    const out = await cg.run({ x: float32(Float32Array.from([1, 2]), [1, 2]) }, ['z']);
    assert.deepEqual(Object.keys(out), ['z']);
    assert.deepEqual(Array.from(out.z!.data as Float32Array), [-2, -4]);
    await cg.release();
  });

  test('int64 feeds', async () => {
    const { g, ids, rows } = trace((g) => {
      const ids = g.input('ids', ['n'], 'int64');
      const table = g.constant(Float32Array.from([10, 20, 30]), [3], 'float32');
      return { g, ids, rows: F.gather(table, ids) };
    });
    const cg = await CompiledGraph.compile({ graph: g, inputs: [ids], outputs: { rows }, variables: 'inputs' });
    assert.deepEqual(Array.from((await cg.run({ ids: int64([2, 0, 2], [3]) })).rows!.data as Float32Array), [30, 10, 30]);
    await cg.release();
  });

  test('ONNX Runtime rejections name the graph', async () => {
    const { g, x } = doublerGraph();
    // A broken op: an ONNX op type that does not exist.
    const y = trace(() => g.apply({ name: 'NoSuchOp', infer: ([t]) => [{ shape: [...t!.shape], dtype: t!.dtype }], vjp: nonDifferentiable }, [x], {})[0]!, g);
    await assert.rejects(() => CompiledGraph.compile({ graph: g, inputs: [x], outputs: { y }, variables: 'inputs', name: 'broken' }), /onnxruntime rejected the graph 'broken'/);
  });
});

describe('CompileCache', () => {
  test('compiles once per key, also under concurrent requests', async () => {
    const cache = new CompileCache<number>();
    const { g, x, y } = doublerGraph();
    let compiles = 0;
    const compile = () => {
      compiles++;
      return CompiledGraph.compile({ graph: g, inputs: [x], outputs: { y }, variables: 'inputs' });
    };
    const [a, b] = await Promise.all([cache.get(8, compile), cache.get(8, compile)]);
    assert.equal(a, b);
    assert.equal(await cache.get(8, compile), a);
    assert.equal(compiles, 1);
    const c = await cache.get(16, compile);
    assert.notEqual(c, a);
    assert.equal(compiles, 2);
    assert.equal(cache.size, 2);
    cache.clear();
    assert.equal(cache.size, 0);
  });

  test('a failed compile is not cached', async () => {
    const cache = new CompileCache<string>();
    let attempts = 0;
    const failing = () => {
      attempts++;
      return Promise.reject(new Error('boom'));
    };
    await assert.rejects(() => cache.get('k', failing), /boom/);
    await assert.rejects(() => cache.get('k', failing), /boom/);
    assert.equal(attempts, 2);
    assert.equal(cache.size, 0);
  });
});

describe('setThreads', () => {
  const before = getThreads();
  after(() => setThreads(before));

  test('accepts positive integers and undefined, rejects the rest with the value', async () => {
    setThreads(1);
    assert.equal(getThreads(), 1);
    const { g, x, y } = doublerGraph();
    const cg = await CompiledGraph.compile({ graph: g, inputs: [x], outputs: { y }, variables: 'inputs' });
    assert.deepEqual(Array.from((await cg.run({ x: float32(Float32Array.from([1]), [1, 1]) })).y!.data as Float32Array), [2]);
    await cg.release();
    setThreads(undefined);
    assert.equal(getThreads(), undefined);
    for (const bad of [0, -2, 1.5, Number.NaN]) {
      assert.throws(() => setThreads(bad), new RegExp(`threads must be a positive integer, got ${bad}`));
    }
  });
});

describe('setProfiling', () => {
  after(() => setProfiling(undefined));

  test("a session created while it is on writes ORT's trace, with one model_run per run, when released", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'forja-profile-'));
    try {
      setProfiling(join(dir, 'trace'));
      const { g, x, y } = doublerGraph();
      const cg = await CompiledGraph.compile({ graph: g, inputs: [x], outputs: { y }, variables: 'inputs' });
      setProfiling(undefined);
      for (let i = 0; i < 3; i++) await cg.run({ x: float32(Float32Array.from([i]), [1, 1]) });
      await cg.release();
      const files = readdirSync(dir);
      assert.equal(files.length, 1, `one trace file, found ${files.join(', ')}`);
      assert.match(files[0]!, /^trace.*\.json$/);
      const events = JSON.parse(readFileSync(join(dir, files[0]!), 'utf8')) as { name: string }[];
      assert.equal(events.filter((e) => e.name === 'model_run').length, 3);
      // Turned off again: the next session writes nothing.
      const plain = await CompiledGraph.compile({ graph: g, inputs: [x], outputs: { y }, variables: 'inputs' });
      await plain.run({ x: float32(Float32Array.from([1]), [1, 1]) });
      await plain.release();
      assert.equal(readdirSync(dir).length, 1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('sessionOptions', () => {
  test('the intra-op thread count is always explicit: one per core unless setThreads chose one', () => {
    assert.deepEqual([sessionOptions().intraOpNumThreads, sessionOptions().interOpNumThreads], [availableParallelism(), 1]);
    const before = getThreads();
    try {
      setThreads(3);
      assert.equal(sessionOptions().intraOpNumThreads, 3);
    } finally {
      setThreads(before);
    }
    assert.equal(sessionOptions().intraOpNumThreads, before ?? availableParallelism());
  });

  const spin = (opts: Parameters<typeof sessionOptions>[0]) => (sessionOptions(opts).extra as { session: { intra_op: { allow_spinning: string } } }).session.intra_op.allow_spinning;

  test("spinning follows each session's choice (on by default), and setSpinning overrides it for every session until cleared", () => {
    assert.deepEqual([spin({}), spin({ spinning: true }), spin({ spinning: false })], ['1', '1', '0']);
    try {
      setSpinning(false);
      assert.deepEqual([spin({}), spin({ spinning: true })], ['0', '0']);
      setSpinning(true);
      assert.equal(spin({ spinning: false }), '1');
    } finally {
      setSpinning(undefined);
    }
    assert.equal(spin({ spinning: false }), '0');
  });
});
