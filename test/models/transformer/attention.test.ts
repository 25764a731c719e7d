import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Tensor } from '../../../src/core/graph.js';
import * as F from '../../../src/core/ops/index.js';
import { Rng } from '../../../src/core/rng.js';
import { cachedAttention, splitHeads, type AttentionShape } from '../../../src/models/transformer/attention.js';
import type { DropoutSite } from '../../../src/models/transformer/types.js';
import { assertClose } from '../../helpers/gradcheck.js';
import { compileGraph, runGraph, type Feed } from '../../helpers/run-graph.js';

const MASKED = -3.4028234663852886e38;

interface Case {
  B: number;
  T: number;
  P: number;
  shape: AttentionShape;
  q: number[];
  k: number[];
  v: number[];
  pastKey: number[];
  pastValue: number[];
  /** [B, 1, T, S] */
  bias: number[];
  scale: number;
}

/**
 * Attention from the definition, in float64: query head h reads KV head ⌊h / group⌋ (HF's
 * repeat_kv); keys are the cache followed by the new tokens.
 */
function reference(c: Case): { out: number[]; key: number[]; value: number[] } {
  const { B, T, P, scale } = c;
  const { heads, kvHeads, headDim: D } = c.shape;
  const S = P + T;
  const group = heads / kvHeads;
  const cacheOf = (past: number[], now: number[]) => {
    const out: number[] = [];
    for (let b = 0; b < B; b++) {
      for (let g = 0; g < kvHeads; g++) {
        for (let s = 0; s < S; s++) {
          for (let e = 0; e < D; e++) out.push(s < P ? past[((b * kvHeads + g) * P + s) * D + e]! : now[((b * T + s - P) * kvHeads + g) * D + e]!);
        }
      }
    }
    return out;
  };
  const key = cacheOf(c.pastKey, c.k);
  const value = cacheOf(c.pastValue, c.v);
  const out = new Array<number>(B * T * heads * D).fill(0);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < heads; h++) {
      const g = Math.floor(h / group);
      for (let t = 0; t < T; t++) {
        const scores = Array.from({ length: S }, (_, s) => {
          let dot = 0;
          for (let e = 0; e < D; e++) dot += c.q[((b * T + t) * heads + h) * D + e]! * key[((b * kvHeads + g) * S + s) * D + e]!;
          return scale * dot + c.bias[(b * T + t) * S + s]!;
        });
        const max = Math.max(...scores);
        const w = scores.map((x) => Math.exp(x - max));
        const sum = w.reduce((a, x) => a + x, 0);
        for (let s = 0; s < S; s++) {
          for (let e = 0; e < D; e++) out[((b * T + t) * heads + h) * D + e]! += (w[s]! / sum) * value[((b * kvHeads + g) * S + s) * D + e]!;
        }
      }
    }
  }
  return { out, key, value };
}

/** Causal bias [B, 1, T, S] for new tokens at the end, with `padding[b]` masked keys at the start of row b. */
function causalBias(B: number, T: number, S: number, padding: number[] = []): number[] {
  const out: number[] = [];
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) for (let s = 0; s < S; s++) out.push(s <= S - T + t && s >= (padding[b] ?? 0) ? 0 : MASKED);
  }
  return out;
}

function randomCase(seed: number, B: number, T: number, P: number, shape: AttentionShape, padding?: number[]): Case {
  const rng = new Rng(seed);
  // float32 values, so the reference sees exactly what the graph is fed.
  const r = (n: number) => Array.from({ length: n }, () => Math.fround(rng.normal()));
  const { heads, kvHeads, headDim: D } = shape;
  return {
    B, T, P, shape,
    q: r(B * T * heads * D), k: r(B * T * kvHeads * D), v: r(B * T * kvHeads * D),
    pastKey: r(B * kvHeads * P * D), pastValue: r(B * kvHeads * P * D),
    bias: causalBias(B, T, P + T, padding),
    scale: 1 / Math.sqrt(D),
  };
}

/** Inputs with symbolic T, P and S, as the inference graph declares them. */
function attentionInputs(B: number, { heads, kvHeads, headDim: D }: AttentionShape) {
  return {
    q: { shape: [B, 'T', heads, D] },
    k: { shape: [B, 'T', kvHeads, D] },
    v: { shape: [B, 'T', kvHeads, D] },
    pastKey: { shape: [B, kvHeads, 'P', D] },
    pastValue: { shape: [B, kvHeads, 'P', D] },
    bias: { shape: [B, 1, 'T', 'S'] },
  };
}

function feedsOf(c: Case): Record<string, Feed> {
  const { B, T, P } = c;
  const { heads, kvHeads, headDim: D } = c.shape;
  return {
    q: { dims: [B, T, heads, D], data: c.q },
    k: { dims: [B, T, kvHeads, D], data: c.k },
    v: { dims: [B, T, kvHeads, D], data: c.v },
    pastKey: { dims: [B, kvHeads, P, D], data: c.pastKey },
    pastValue: { dims: [B, kvHeads, P, D], data: c.pastValue },
    bias: { dims: [B, 1, T, P + T], data: c.bias },
  };
}

const attend = (shape: AttentionShape, scale: number, dropout?: (x: Tensor, site: DropoutSite) => Tensor, newPositionsOnly = false) => (ins: Record<string, Tensor>) => {
  const { out, present } = cachedAttention(shape, {
    q: ins.q!, k: ins.k!, v: ins.v!,
    past: { key: ins.pastKey!, value: ins.pastValue! },
    bias: ins.bias!, scale,
    ...(dropout ? { dropout } : {}),
    newPositionsOnly,
  });
  return { out, key: present.key, value: present.value };
};

describe('cachedAttention', () => {
  // Values are N(0, 1) and softmax weights sum to 1, so outputs are O(1): float32 sums of ≤ 8 terms agree to ~1e-6.
  const TOL = { atol: 1e-5 };

  for (const shape of [
    { heads: 4, kvHeads: 2, headDim: 3 }, // grouped-query: two query heads per KV head
    { heads: 4, kvHeads: 1, headDim: 2 }, // multi-query
    { heads: 2, kvHeads: 2, headDim: 4 }, // plain multi-head
  ]) {
    test(`matches attention from the definition: ${shape.heads} query / ${shape.kvHeads} KV heads, cache of 2, left padding`, async () => {
      const c = randomCase(shape.heads + shape.kvHeads, 2, 3, 2, shape, [1, 0]);
      const ins = attentionInputs(c.B, shape);
      const feeds = feedsOf(c);
      const out = await runGraph(
        Object.fromEntries(Object.entries(ins).map(([k, decl]) => [k, { ...decl, ...feeds[k]! }])),
        attend(shape, c.scale),
      );
      const ref = reference(c);
      assert.deepEqual(out.out!.dims, [2, 3, shape.heads * shape.headDim]);
      assert.deepEqual(out.key!.dims, [2, shape.kvHeads, 5, shape.headDim], 'the cache grows by T');
      assertClose(out.key!.data, ref.key, { atol: 0 }, 'present key = past then new keys');
      assertClose(out.value!.data, ref.value, { atol: 0 }, 'present value');
      assertClose(out.out!.data, ref.out, TOL, 'attended values');
    });

    test(`newPositionsOnly: the same values, past and new attended apart, only the new K/V back: ${shape.heads} / ${shape.kvHeads} heads`, async () => {
      const c = randomCase(shape.heads + shape.kvHeads, 2, 3, 2, shape, [1, 0]);
      const ins = attentionInputs(c.B, shape);
      const feeds = feedsOf(c);
      const out = await runGraph(Object.fromEntries(Object.entries(ins).map(([k, decl]) => [k, { ...decl, ...feeds[k]! }])), attend(shape, c.scale, undefined, true));
      const ref = reference(c);
      assert.deepEqual(out.key!.dims, [2, shape.kvHeads, 3, shape.headDim], 'only the T new positions');
      const newOf = (cache: number[]) => cache.filter((_, i) => Math.floor(i / shape.headDim) % 5 >= 2);
      assertClose(out.key!.data, newOf(ref.key), { atol: 0 }, 'new keys');
      assertClose(out.value!.data, newOf(ref.value), { atol: 0 }, 'new values');
      assertClose(out.out!.data, ref.out, TOL, 'attended values');
    });
  }

  test('a prefill of n tokens equals n single-token steps over the returned cache', async () => {
    const shape = { heads: 4, kvHeads: 2, headDim: 3 };
    const n = 5;
    const all = randomCase(21, 1, n, 0, shape);
    const cg = await compileGraph(attentionInputs(1, shape), attend(shape, all.scale));
    try {
      const prefill = await cg.run(feedsOf(all));
      const width = shape.kvHeads * shape.headDim; // per token in k and v
      const qWidth = shape.heads * shape.headDim;
      let key: number[] = [];
      let value: number[] = [];
      for (let t = 0; t < n; t++) {
        const step: Case = {
          ...all, T: 1, P: t,
          q: all.q.slice(t * qWidth, (t + 1) * qWidth),
          k: all.k.slice(t * width, (t + 1) * width),
          v: all.v.slice(t * width, (t + 1) * width),
          pastKey: key, pastValue: value,
          bias: new Array<number>(t + 1).fill(0),
        };
        const out = await cg.run(feedsOf(step));
        assertClose(out.out!.data, prefill.out!.data.slice(t * qWidth, (t + 1) * qWidth), TOL, `decode step ${t}`);
        [key, value] = [out.key!.data, out.value!.data];
      }
      assertClose(key, prefill.key!.data, { atol: 0 }, 'cache after n steps');
      assertClose(value, prefill.value!.data, { atol: 0 }, 'value cache after n steps');
    } finally {
      await cg.release();
    }
  });

  test('dropout is applied to the attention probabilities, at the "attention" site', async () => {
    const shape = { heads: 2, kvHeads: 1, headDim: 2 };
    const c = randomCase(3, 1, 2, 1, shape);
    const sites: DropoutSite[] = [];
    // Doubling the probabilities doubles the output: they feed the value matmul linearly.
    const double = (x: Tensor, site: DropoutSite) => (sites.push(site), F.mul(x, 2));
    const ins = attentionInputs(1, shape);
    const feeds = feedsOf(c);
    const out = await runGraph(Object.fromEntries(Object.entries(ins).map(([k, decl]) => [k, { ...decl, ...feeds[k]! }])), attend(shape, c.scale, double));
    assert.deepEqual(sites, ['attention']);
    assertClose(out.out!.data, reference(c).out.map((x) => 2 * x), TOL, 'doubled probabilities');
  });
});

describe('splitHeads', () => {
  test('(B, T, n·hs) → (B, T, n, hs): head h holds channels h·hs .. (h+1)·hs − 1', async () => {
    const data = Array.from({ length: 2 * 6 }, (_, i) => i);
    const { y } = await runGraph({ x: { shape: [1, 'T', 6], dims: [1, 2, 6], data } }, ({ x }) => ({ y: F.gather(splitHeads(x!, 3, 2), F.scalar(1, 'int64'), 2) }));
    assert.deepEqual(y!.dims, [1, 2, 2]);
    assert.deepEqual(y!.data, [2, 3, 8, 9], 'head 1 of each step');
  });
});
