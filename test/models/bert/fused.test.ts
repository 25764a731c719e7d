/**
 * The fused-kernel BERT graph (ONNX Runtime's com.microsoft Attention and SkipLayerNormalization) keeps
 * bert-tiny-embed's parity with sentence-transformers at the standard graph's tolerances, padding rows
 * included, and is an inference graph only.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { trace } from '../../../src/core/graph.js';
import * as F from '../../../src/core/ops/index.js';
import { Rng } from '../../../src/core/rng.js';
import { loadF32 } from '../../../src/io/safetensors.js';
import { loadSentenceEmbedder } from '../../../src/models/bert/embedder.js';
import { fusedSelfAttention, skipLayerNorm } from '../../../src/core/ops/fused.js';
import { embeddingGraph } from '../../../src/models/bert/graph.js';
import { bertConfigJson } from '../../../src/models/bert/config.js';
import { Bert } from '../../../src/models/bert/model.js';
import { assertClose } from '../../helpers/causal-lm.js';
import { fixturePath } from '../../helpers/fixtures.js';

const DIR = fixturePath('bert-tiny-embed');
// As in embedder.test.ts: float32 on both sides, kernels that sum in another order.
const HIDDEN_TOL = 1e-5;
const EMBED_TOL = 2e-6;
const golden = JSON.parse(readFileSync(fixturePath('bert-tiny-embed', 'golden.json'), 'utf8')) as { sentences: string[]; input_ids: number[][]; attention_mask: number[][] };

describe('fused BERT kernels', () => {
  test('last_hidden_state (padding included) and sentence embeddings match the golden batch', async () => {
    const tensors = await loadF32(fixturePath('bert-tiny-embed', 'golden.safetensors'));
    const embedder = await loadSentenceEmbedder(DIR, { fused: true });
    try {
      const T = golden.input_ids[0]!.length;
      const big = (rows: number[][]) => BigInt64Array.from(rows.flat(), BigInt);
      const out = await embedder.forward({ rows: 5, length: T, inputIds: big(golden.input_ids), attentionMask: big(golden.attention_mask), tokenTypeIds: new BigInt64Array(5 * T) });
      assertClose(out.lastHiddenState, tensors.get('last_hidden_state')!.data, HIDDEN_TOL, 'last_hidden_state');
      assertClose(out.sentenceEmbedding, tensors.get('sentence_embeddings')!.data, EMBED_TOL, 'sentence_embeddings');
      // Batched by length, the empty sentence included.
      const vectors = await embedder.embed(golden.sentences);
      const expected = tensors.get('sentence_embeddings')!.data;
      vectors.forEach((v, i) => assertClose(v, expected.subarray(i * 32, (i + 1) * 32), EMBED_TOL, `sentence ${i}`));
    } finally {
      await embedder.release();
    }
  });

  test('the graph holds one Attention and two SkipLayerNormalization nodes per layer and no softmax', () => {
    const model = Bert.init(bertConfigJson({ layers: 3, hidden: 16, heads: 4, intermediate: 32, vocabSize: 50, maxPositions: 16 }), { pooler: false, classifier: false }, new Rng(3));
    const count = (fused: boolean) => {
      const n = new Map<string, number>();
      for (const node of embeddingGraph(model, { pooling: 'mean' }, { fused }).graph.nodes) n.set(node.op.name, (n.get(node.op.name) ?? 0) + 1);
      return n;
    };
    const fused = count(true);
    assert.equal(fused.get('Attention'), 3);
    assert.equal(fused.get('SkipLayerNormalization'), 6);
    assert.equal(fused.get('Softmax'), undefined);
    assert.equal(count(false).get('Attention'), undefined);
  });

  test('no dropout through fused kernels, and their inputs are checked', () => {
    const model = Bert.init(bertConfigJson({ layers: 1, hidden: 8, heads: 2, intermediate: 16, vocabSize: 20, maxPositions: 8 }), { pooler: false, classifier: false }, new Rng(4));
    trace((g) => {
      const ids = g.input('input_ids', [1, 4], 'int64');
      const mask = g.input('attention_mask', [1, 4], 'int64');
      assert.throws(() => model.encode({ inputIds: ids, attentionMask: mask, fused: true, dropout: (x) => x }), /fused kernels are for inference graphs/);
      const x = g.input('x', [1, 4, 8], 'float32');
      const w = g.constant(new Float32Array(8 * 24), [8, 24], 'float32');
      const b = g.constant(new Float32Array(24), [24], 'float32');
      assert.throws(() => fusedSelfAttention(x, w, b, mask, 2), /the mask must be int32/);
      assert.throws(() => fusedSelfAttention(x, g.constant(new Float32Array(8 * 20), [8, 20], 'float32'), b, F.cast(mask, 'int32'), 2), /weights \(H, 3H\)/);
      const gamma = g.constant(new Float32Array(8), [8], 'float32');
      assert.throws(() => skipLayerNorm(x, g.input('y', [1, 3, 8], 'float32'), gamma, gamma, gamma, 1e-12), /input \[1, 4, 8\] and skip \[1, 3, 8\] differ/);
    });
  });
});
