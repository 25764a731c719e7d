import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Tensor } from '../../../src/core/graph.js';
import * as F from '../../../src/core/ops/index.js';
import { attentionBias, dimOf } from '../../../src/models/transformer/mask.js';
import { compileGraph, type RunnableGraph } from '../../helpers/run-graph.js';

/** float32's lowest value, which HF fills masked scores with. */
const FLOAT32_MIN = -3.4028234663852886e38;

/**
 * The bias from the definition: query t of T sits at position S − T + t and sees key j when
 * j ≤ that position, j is inside the window and j is not padding.
 */
function expectedBias(T: number, S: number, opts: { window?: number; mask?: number[][] } = {}): number[] {
  const rows = opts.mask ?? [Array<number>(S).fill(1)];
  const out: number[] = [];
  for (const row of rows) {
    for (let t = 0; t < T; t++) {
      const pos = S - T + t;
      for (let j = 0; j < S; j++) {
        const ok = j <= pos && (opts.window === undefined || pos - j < opts.window) && row[j] === 1;
        out.push(ok ? 0 : FLOAT32_MIN);
      }
    }
  }
  return out;
}

describe('dimOf', () => {
  test('reads a symbolic axis at run time', async () => {
    const cg = await compileGraph({ x: { shape: ['a', 'b', 3] } }, ({ x }) => ({ a: dimOf(x!, 0), b: dimOf(x!, 1) }));
    try {
      const out = await cg.run({ x: { dims: [2, 5, 3], data: new Float32Array(30) } });
      assert.deepEqual([out.a!.data, out.b!.data], [[2], [5]]);
      assert.deepEqual(out.a!.dims, [], 'a scalar');
    } finally {
      await cg.release();
    }
  });
});

describe('attentionBias', () => {
  // T comes from the new ids, S from a second input's length: both symbolic, as in the inference graph.
  const lengths = { ids: { shape: [1, 'T'], dtype: 'int64' as const }, keys: { shape: ['S'] } };
  const lengthFeeds = (T: number, S: number) => ({ ids: { dims: [1, T], data: new Array<number>(T).fill(0) }, keys: { dims: [S], data: new Float32Array(S) } });
  let causal: RunnableGraph;
  let windowed: RunnableGraph;
  let padded: RunnableGraph;
  before(async () => {
    const bias = (ins: Record<string, Tensor>, extra: { slidingWindow?: number }) => ({
      bias: attentionBias({ queryLength: dimOf(ins.ids!, 1), totalLength: dimOf(ins.keys!, 0), ...extra }),
    });
    [causal, windowed, padded] = await Promise.all([
      compileGraph(lengths, (ins) => bias(ins, {})),
      compileGraph(lengths, (ins) => bias(ins, { slidingWindow: 2 })),
      compileGraph({ ids: lengths.ids, mask: { shape: ['B', 'S'], dtype: 'int64' } }, ({ ids, mask }) => {
        const b = attentionBias({ queryLength: dimOf(ids!, 1), totalLength: dimOf(mask!, 1), attentionMask: mask! });
        return { bias: b, probs: F.softmax(b) };
      }),
    ]);
  });
  after(() => Promise.all([causal, windowed, padded].map((g) => g.release())));

  test('prefill: lower-triangular, float32 min above the diagonal, shape [1, 1, T, S]', async () => {
    const { bias } = await causal.run(lengthFeeds(4, 4));
    assert.deepEqual(bias!.dims, [1, 1, 4, 4]);
    assert.deepEqual(bias!.data, expectedBias(4, 4));
    // Spelled out once: row t allows keys 0..t.
    const M = FLOAT32_MIN;
    assert.deepEqual(bias!.data.slice(0, 8), [0, M, M, M, 0, 0, M, M]);
  });

  test('decode and chunked steps after a cache: the new queries sit at the end', async () => {
    const one = await causal.run(lengthFeeds(1, 5));
    assert.deepEqual(one.bias!.dims, [1, 1, 1, 5]);
    assert.deepEqual(one.bias!.data, [0, 0, 0, 0, 0], 'a single new token sees every cached key');
    const two = await causal.run(lengthFeeds(2, 5));
    assert.deepEqual(two.bias!.data, expectedBias(2, 5));
    assert.equal(two.bias!.data[4], FLOAT32_MIN, 'query 0 (position 3) does not see key 4');
  });

  test('a sliding window of 2 keeps the token and its predecessor only', async () => {
    const { bias } = await windowed.run(lengthFeeds(5, 5));
    assert.deepEqual(bias!.data, expectedBias(5, 5, { window: 2 }));
    const allowedPerRow = Array.from({ length: 5 }, (_, t) => bias!.data.slice(t * 5, t * 5 + 5).filter((v) => v === 0).length);
    assert.deepEqual(allowedPerRow, [1, 2, 2, 2, 2]);
    const decode = await windowed.run(lengthFeeds(1, 6));
    assert.deepEqual(decode.bias!.data, expectedBias(1, 6, { window: 2 }));
  });

  test('padding: per-row [B, 1, T, S], padded keys masked, fully padded rows stay finite', async () => {
    const mask = [
      [0, 0, 1, 1, 1],
      [1, 1, 1, 1, 1],
      [0, 0, 0, 0, 0],
    ];
    const out = await padded.run({ ids: { dims: [1, 2], data: [0, 0] }, mask: { dims: [3, 5], data: mask.flat() } });
    assert.deepEqual(out.bias!.dims, [3, 1, 2, 5]);
    assert.deepEqual(out.bias!.data, expectedBias(2, 5, { mask }));
    // Softmax over a row where everything is masked is uniform, not NaN (the reason for a finite fill).
    const probs = out.probs!.data;
    assert.ok(probs.every(Number.isFinite), 'no NaN or Inf after softmax');
    assert.deepEqual(probs.slice(20), new Array<number>(10).fill(Math.fround(0.2)));
    assert.deepEqual(probs.slice(0, 5), [0, 0, 0.5, 0.5, 0], 'row 0, query 0 (position 3): real keys 2 and 3');
  });
});
