import { test } from 'node:test';
import * as F from '../../../src/core/ops/index.js';
import { Rng } from '../../../src/core/rng.js';
import { keyValueHeads, unmaskedAttention } from '../../../src/models/transformer/cross-attention.js';
import { assertClose } from '../../helpers/causal-lm.js';
import { runGraph } from '../../helpers/run-graph.js';

test('unmaskedAttention: every query sees every unmasked key; the padding bias removes a key', async () => {
  const [B, T, S, heads, hs] = [2, 3, 4, 2, 3];
  const rng = new Rng(7);
  const rand = (n: number) => Array.from({ length: n }, () => rng.normal());
  const q = rand(B * T * heads * hs);
  const k = rand(B * S * heads * hs);
  const v = rand(B * S * heads * hs);
  // Row 1's last key is padding.
  const bias = [0, 0, 0, 0, 0, 0, 0, -1e30];
  const out = await runGraph(
    {
      q: { shape: ['b', 't', heads, hs], dims: [B, T, heads, hs], data: q },
      k: { shape: ['b', 's', heads * hs], dims: [B, S, heads * hs], data: k },
      v: { shape: ['b', 's', heads * hs], dims: [B, S, heads * hs], data: v },
      bias: { shape: ['b', 1, 1, 's'], dims: [B, 1, 1, S], data: bias },
    },
    (x) => ({ y: unmaskedAttention(x.q!, keyValueHeads(x.k!, x.v!, heads, hs), { scale: 0.5, bias: F.mul(x.bias!, 1) }) }),
  );
  const expected: number[] = [];
  for (let b = 0; b < B; b++)
    for (let t = 0; t < T; t++)
      for (let h = 0; h < heads; h++) {
        const qi = ((b * T + t) * heads + h) * hs;
        const scores = Array.from({ length: S }, (_, s) => {
          const ki = (b * S + s) * heads * hs + h * hs;
          let dot = 0;
          for (let j = 0; j < hs; j++) dot += q[qi + j]! * k[ki + j]!;
          return 0.5 * dot + bias[b * S + s]!;
        });
        const m = Math.max(...scores);
        const e = scores.map((x) => Math.exp(x - m));
        const z = e.reduce((a, c) => a + c, 0);
        for (let j = 0; j < hs; j++) expected.push(e.reduce((a, es, s) => a + (es / z) * v[(b * S + s) * heads * hs + h * hs + j]!, 0));
      }
  assertClose(out.y!.data, expected, 1e-5, 'attention');
});
