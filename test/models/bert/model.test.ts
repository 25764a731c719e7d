import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { grad } from '../../../src/autodiff/grad.js';
import { trace } from '../../../src/core/graph.js';
import * as F from '../../../src/core/ops/index.js';
import { Rng } from '../../../src/core/rng.js';
import { loadHfCheckpoint } from '../../../src/io/hf-checkpoint.js';
import { Bert, bertConfigJson, bertTensors, canonicalBertWeights, parseBertConfig } from '../../../src/models/bert/index.js';
import { l2Normalize, pool, type PoolingMode } from '../../../src/models/bert/pooling.js';
import { ConfigError } from '../../../src/models/transformer/config.js';
import { WeightError } from '../../../src/models/transformer/weights.js';
import { CompiledGraph, int64 } from '../../../src/runtime/session.js';
import { fixturePath } from '../../helpers/fixtures.js';

const EMBED = fixturePath('bert-tiny-embed');
const CROSS = fixturePath('bert-tiny-cross-encoder');
const configOf = (dir: string) => JSON.parse(readFileSync(`${dir}/config.json`, 'utf8')) as Record<string, unknown>;

describe('parseBertConfig', () => {
  test("reads bert-tiny-embed's config.json", () => {
    const c = parseBertConfig(configOf(EMBED));
    assert.deepEqual(
      [c.architecture, c.vocabSize, c.hiddenSize, c.numHiddenLayers, c.numAttentionHeads, c.intermediateSize, c.hiddenAct, c.maxPositionEmbeddings, c.typeVocabSize, c.layerNormEps],
      ['BertModel', 1500, 32, 2, 4, 64, 'gelu', 128, 2, 1e-12],
    );
    assert.equal(parseBertConfig(configOf(CROSS)).numLabels, 1);
  });

  test('a config that is not BERT names its architecture and model_type', () => {
    const gpt2 = configOf(fixturePath('gpt2-tiny'));
    assert.throws(() => parseBertConfig(gpt2, '/m/config.json'), (e: Error) => e instanceof ConfigError && /\/m\/config\.json: architecture "GPT2LMHeadModel" \(model_type "gpt2"\) is not BERT/.test(e.message));
  });

  test('refuses what the graph does not compute, naming the key', () => {
    const base = configOf(EMBED);
    assert.throws(() => parseBertConfig({ ...base, position_embedding_type: 'relative_key' }), /"position_embedding_type" = "relative_key" is not supported/);
    assert.throws(() => parseBertConfig({ ...base, hidden_act: 'mish' }), /"hidden_act" = "mish" is not supported/);
    assert.throws(() => parseBertConfig({ ...base, num_attention_heads: 5 }), /hidden_size 32 is not divisible by num_attention_heads 5/);
  });
});

describe('Bert weights', () => {
  test('binds names with and without the bert. prefix, and TensorFlow-style gamma/beta', async () => {
    const { config, weights } = await loadHfCheckpoint(CROSS);
    const prefixed = Bert.fromCheckpoint(config, weights, { pooler: true, classifier: true });
    const bare = new Map([...weights].map(([k, t]) => [k.replace(/^bert\./, '').replace(/LayerNorm\.weight$/, 'LayerNorm.gamma').replace(/LayerNorm\.bias$/, 'LayerNorm.beta'), t]));
    assert.ok(bare.has('encoder.layer.0.output.LayerNorm.gamma'));
    const plain = Bert.fromCheckpoint(config, bare, { pooler: true, classifier: true });
    for (const [name, v] of prefixed.weights) assert.deepEqual(plain.weights.get(name)!.value, v.value, name);
    // nn.Linear [out, in] is kept as [in, out].
    assert.deepEqual(prefixed.weights.get('classifier.weight')!.shape, [32, 1]);
  });

  test('a wrong shape names the tensor and both shapes', async () => {
    const { config, weights } = await loadHfCheckpoint(EMBED);
    const bad = new Map(weights);
    bad.set('encoder.layer.1.intermediate.dense.weight', { shape: [63, 32], data: new Float32Array(63 * 32) });
    assert.throws(
      () => Bert.fromCheckpoint(config, bad, { pooler: false, classifier: false }),
      (e: Error) => e instanceof WeightError && /'encoder\.layer\.1\.intermediate\.dense\.weight' has shape \[63, 32\] in the checkpoint, expected \[64, 32\]/.test(e.message),
    );
  });

  test('a missing classifier is named; unused heads and the position_ids buffer are ignored', async () => {
    const { config, weights } = await loadHfCheckpoint(EMBED);
    assert.throws(() => Bert.fromCheckpoint(config, weights, { pooler: true, classifier: true }), /no tensor 'classifier\.weight'/);
    const extra = new Map(weights);
    extra.set('embeddings.position_ids', { shape: [1, 128], data: new Float32Array(128) });
    extra.set('cls.predictions.bias', { shape: [1500], data: new Float32Array(1500) });
    const model = Bert.fromCheckpoint(config, extra, { pooler: false, classifier: false });
    assert.equal(model.weights.size, bertTensors(model.config, model.heads).length);
    assert.ok(!model.weights.has('pooler.dense.weight'));
  });

  test('canonicalBertWeights only renames', () => {
    const t = { shape: [1], data: new Float32Array(1) };
    const out = canonicalBertWeights(new Map([['bert.embeddings.LayerNorm.gamma', t], ['classifier.bias', t]]));
    assert.deepEqual([...out.keys()], ['embeddings.LayerNorm.weight', 'classifier.bias']);
  });

  test('init draws N(0, initializer_range) matrices, unit LayerNorm gains and zero biases, the same for the same seed', () => {
    const json = bertConfigJson({ layers: 1, hidden: 64, heads: 4, intermediate: 128, vocabSize: 300, maxPositions: 32 });
    const a = Bert.init(json, { pooler: false, classifier: false }, new Rng(7));
    const b = Bert.init(json, { pooler: false, classifier: false }, new Rng(7));
    const q = a.weights.get('encoder.layer.0.attention.self.query.weight')!.value;
    const std = Math.sqrt(q.reduce((s, x) => s + x * x, 0) / q.length);
    assert.ok(Math.abs(std - 0.02) < 0.002, `std ${std}`);
    assert.ok(a.weights.get('embeddings.LayerNorm.weight')!.value.every((x) => x === 1));
    assert.ok(a.weights.get('encoder.layer.0.output.dense.bias')!.value.every((x) => x === 0));
    assert.deepEqual(b.weights.get('embeddings.word_embeddings.weight')!.value, a.weights.get('embeddings.word_embeddings.weight')!.value);
  });
});

/**
 * The forward pass is meant to be trained (contrastive fine-tuning), so every weight must get a
 * gradient that matches the loss: the analytic derivative along a random unit direction over all
 * weights against a central difference of the same float32 graph. With a step of 1e-2 (weights
 * have std 0.3) the truncation error is ~1e-4 relative; float32 rounding of a loss of a few units
 * (ulp ~5e-7) adds ~5e-7/2e-2 = 2.5e-5 to a derivative of ~5e-2, i.e. ~5e-4 relative. A wrong or
 * missing VJP is off by O(1), so rtol 1e-2 separates them.
 */
describe('Bert is differentiable', () => {
  const IDS = [2, 280, 384, 527, 3, 2, 269, 3, 0, 0];
  const MASK = [1, 1, 1, 1, 1, 1, 1, 1, 0, 0];
  const TYPES = [0, 0, 0, 0, 0, 0, 0, 1, 0, 0];

  async function checkDirectional(model: Bert, head: (m: Bert, ins: { inputIds: ReturnType<typeof F.scalar>; attentionMask: ReturnType<typeof F.scalar>; tokenTypeIds: ReturnType<typeof F.scalar> }) => ReturnType<typeof F.scalar>) {
    const variables = [...model.weights.values()];
    const rng = new Rng(11);
    const { graph, inputs, loss, grads } = trace((g) => {
      const inputIds = g.input('input_ids', [2, 5], 'int64');
      const attentionMask = g.input('attention_mask', [2, 5], 'int64');
      const tokenTypeIds = g.input('token_type_ids', [2, 5], 'int64');
      const out = head(model, { inputIds, attentionMask, tokenTypeIds });
      const cotangent = g.constant(Float32Array.from({ length: out.shape.reduce<number>((a, d) => a * (d as number), 1) }, () => rng.normal()), out.shape as number[], 'float32');
      const loss = F.sum(F.mul(out, cotangent));
      return { graph: g, inputs: [inputIds, attentionMask, tokenTypeIds], loss, grads: grad(loss, variables.map((v) => g.param(v))) };
    });
    grads.forEach((gr, i) => assert.ok(gr, `no gradient for ${variables[i]!.name}`));
    const outputs = Object.fromEntries([['loss', loss], ...grads.map((gr, i) => [`g${i}`, gr!])]);
    const cg = await CompiledGraph.compile({ graph, inputs, outputs, variables: 'inputs' });
    const feeds = { input_ids: int64(IDS, [2, 5]), attention_mask: int64(MASK, [2, 5]), token_type_ids: int64(TYPES, [2, 5]) };
    try {
      const base = await cg.run(feeds);
      // A random direction of unit norm over every weight at once.
      const directions = variables.map((v) => Float32Array.from(v.value, () => rng.normal()));
      const norm = Math.sqrt(directions.reduce((s, d) => s + d.reduce((t, x) => t + x * x, 0), 0));
      directions.forEach((d) => d.forEach((x, j) => (d[j] = x / norm)));
      let analytic = 0;
      variables.forEach((_, i) => (base[`g${i}`]!.data as Float32Array).forEach((x, j) => (analytic += x * directions[i]![j]!)));
      const original = variables.map((v) => v.value);
      const lossAt = async (eps: number) => {
        variables.forEach((v, i) => v.assign(Float32Array.from(original[i]!, (x, j) => x + eps * directions[i]![j]!)));
        return (await cg.run(feeds, ['loss'])).loss!.data[0] as number;
      };
      const eps = 1e-2;
      const numeric = ((await lossAt(eps)) - (await lossAt(-eps))) / (2 * eps);
      variables.forEach((v, i) => v.assign(original[i]!));
      assert.ok(Math.abs(analytic - numeric) <= 1e-2 * Math.abs(numeric) + 1e-3, `analytic ${analytic} vs numeric ${numeric}`);
    } finally {
      await cg.release();
    }
  }

  for (const mode of ['mean', 'cls', 'max'] as PoolingMode[]) {
    test(`encoder + ${mode} pooling + L2 normalisation`, async () => {
      const { config, weights } = await loadHfCheckpoint(EMBED);
      const model = Bert.fromCheckpoint(config, weights, { pooler: false, classifier: false });
      await checkDirectional(model, (m, ins) => l2Normalize(pool(m.encode(ins), ins.attentionMask, mode)));
    });
  }

  test('sequence classification (pooler + classifier)', async () => {
    const { config, weights } = await loadHfCheckpoint(CROSS);
    const model = Bert.fromCheckpoint(config, weights, { pooler: true, classifier: true });
    await checkDirectional(model, (m, ins) => m.classify(ins));
  });
});
