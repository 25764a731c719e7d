import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { grad } from '../../../src/autodiff/grad.js';
import { trace } from '../../../src/core/graph.js';
import * as F from '../../../src/core/ops/index.js';
import { Rng } from '../../../src/core/rng.js';
import { Variable } from '../../../src/core/variable.js';
import { loadHfCheckpoint, type HfCheckpoint } from '../../../src/io/hf-checkpoint.js';
import { loadF32, writeSafetensors } from '../../../src/io/safetensors.js';
import { CausalLM } from '../../../src/models/causal-lm.js';
import { Gpt2, gpt2ConfigJson, gpt2Tensors, parseGpt2Config, withTransformerPrefix, type Gpt2Config } from '../../../src/models/gpt2/model.js';
import { loadCausalLmModel } from '../../../src/models/registry.js';
import { CompiledGraph, int64 } from '../../../src/runtime/session.js';
import { assertClose, fullForward, maxAbsDiff, parityTests } from '../../helpers/causal-lm.js';
import { fixturePath } from '../../helpers/fixtures.js';

const DIR = fixturePath('gpt2-tiny');

describe('GPT-2 (gpt2-tiny fixture)', () => {
  const fx = parityTests('gpt2-tiny');
  let ckpt: HfCheckpoint;
  before(async () => {
    ckpt = await loadHfCheckpoint(DIR);
  });

  test("loads the hub's unprefixed tensor names", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'forja-gpt2-'));
    try {
      const renamed = new Map([...ckpt.weights].map(([k, t]) => [k.replace(/^transformer\./, ''), t]));
      assert.ok(renamed.has('wte.weight') && renamed.has('h.0.attn.c_attn.weight'));
      // The hub's files also carry the causal-mask buffer, which is ignored.
      renamed.set('h.0.attn.bias', { shape: [1, 1, 4, 4], data: new Float32Array(16) });
      await writeSafetensors(join(dir, 'model.safetensors'), renamed);
      copyFileSync(join(DIR, 'config.json'), join(dir, 'config.json'));
      const plain = await CausalLM.load(dir);
      try {
        const ids = fx.golden.single[2]!.input_ids;
        const res = await plain.forward({ ids: BigInt64Array.from(ids, BigInt), batch: 1, attentionMask: BigInt64Array.from(ids, () => 1n), positionIds: BigInt64Array.from(ids, (_, i) => BigInt(i)) });
        assertClose(res.logits, fx.tensors.get('logits_2')!.data, 1e-4, 'unprefixed checkpoint');
      } finally {
        await plain.release();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a missing, mis-shaped or leftover tensor is a clear error', () => {
    const without = new Map(ckpt.weights);
    without.delete('transformer.h.1.mlp.c_fc.bias');
    assert.throws(() => loadCausalLmModel(ckpt.config, without), /GPT2LMHeadModel: checkpoint has no tensor 'transformer\.h\.1\.mlp\.c_fc\.bias' \(expected shape \[192\]\)/);

    const misShaped = new Map(ckpt.weights);
    misShaped.set('transformer.h.0.attn.c_attn.weight', { shape: [144, 48], data: ckpt.weights.get('transformer.h.0.attn.c_attn.weight')!.data });
    assert.throws(() => loadCausalLmModel(ckpt.config, misShaped), /tensor 'transformer\.h\.0\.attn\.c_attn\.weight' has shape \[144, 48\] in the checkpoint, expected \[48, 144\]/);

    const extra = new Map(ckpt.weights);
    extra.set('transformer.h.2.ln_1.weight', { shape: [48], data: new Float32Array(48) });
    assert.throws(() => loadCausalLmModel(ckpt.config, extra), /unexpected tensor in the checkpoint: 'transformer\.h\.2\.ln_1\.weight' \[48\]/);
  });
});

interface TrainStep {
  input_ids: number[];
  loss: number;
  params: string[];
  wte_rows: number[];
}

describe('GPT-2 training path', () => {
  // The graph builder is also the training path: gradients through it (weights as graph inputs,
  // no cache, no mask) match PyTorch's for one step.
  test('loss and gradients match the PyTorch train-step golden', async () => {
    const step = JSON.parse(readFileSync(fixturePath('gpt2-tiny-trainstep', 'golden.json'), 'utf8')) as TrainStep;
    const golden = await loadF32(fixturePath('gpt2-tiny-trainstep', 'golden.safetensors'));
    const ckpt = await loadHfCheckpoint(DIR);
    const model = Gpt2.fromCheckpoint(ckpt.config, ckpt.weights);
    const T = step.input_ids.length;
    const V = model.dims.vocabSize;
    // Next-token targets as a one-hot [T-1, V] constant: position t predicts ids[t+1].
    const targets = new Float32Array((T - 1) * V);
    step.input_ids.slice(1).forEach((id, t) => (targets[t * V + id] = 1));

    const names = [...step.params, 'transformer.wte.weight'];
    const { graph, ids, loss, grads } = trace((g) => {
      const ids = g.input('input_ids', [1, T], 'int64');
      const { logits } = model.forward({ inputIds: ids });
      const predicted = F.slice(F.reshape(logits, [T, V]), [0], [T - 1], [0]);
      const nll = F.neg(F.sum(F.mul(F.logSoftmax(predicted), g.constant(targets, [T - 1, V], 'float32')), [1]));
      const loss = F.mean(nll);
      const params = names.map((n) => g.param(model.weights.get(n)!));
      return { graph: g, ids, loss, grads: grad(loss, params) };
    });
    const outputs = Object.fromEntries([['loss', loss], ...names.map((n, i) => [`grad.${n}`, grads[i]!])]);
    const cg = await CompiledGraph.compile({ graph, inputs: [ids], outputs, variables: 'inputs' });
    try {
      const out = await cg.run({ input_ids: int64(step.input_ids, [1, T]) });
      assert.ok(Math.abs((out.loss!.data as Float32Array)[0]! - step.loss) < 1e-4, `loss ${(out.loss!.data as Float32Array)[0]} vs ${step.loss}`);
      for (const name of step.params) {
        const expected = golden.get(`grad.${name}`)!.data;
        const scale = Math.max(...expected.map(Math.abs));
        assertClose(out[`grad.${name}`]!.data as Float32Array, expected, 1e-5 * scale + 1e-7, `grad ${name}`);
      }
      // The tied embedding gets gradient from both the lookup and the LM head.
      const wteGrad = out['grad.transformer.wte.weight']!.data as Float32Array;
      const rows = golden.get('grad.transformer.wte.weight.rows')!.data;
      const d = model.dims.hidden;
      step.wte_rows.forEach((row, i) => assertClose(wteGrad.subarray(row * d, (row + 1) * d), rows.subarray(i * d, (i + 1) * d), 1e-5, `wte row ${row}`));
    } finally {
      await cg.release();
    }
  });
});

describe('Gpt2.init', () => {
  test("initialises as HF's GPT2PreTrainedModel: N(0, 0.02), residual projections / √(2·n_layer), unit LayerNorm gains, zero biases", () => {
    const config = parseGpt2Config({ vocab_size: 1000, n_positions: 64, n_embd: 64, n_layer: 4, n_head: 4, initializer_range: 0.02 });
    const model = Gpt2.init(config, new Rng(3));
    const std = (name: string) => {
      const v = model.weights.get(name)!.value;
      const mean = v.reduce((a, b) => a + b, 0) / v.length;
      return Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length);
    };
    assert.ok(Math.abs(std('transformer.wte.weight') - 0.02) < 0.001);
    assert.ok(Math.abs(std('transformer.h.0.attn.c_attn.weight') - 0.02) < 0.001);
    assert.ok(Math.abs(std('transformer.h.3.mlp.c_proj.weight') - 0.02 / Math.sqrt(8)) < 0.0005);
    assert.ok(model.weights.get('transformer.h.2.ln_1.weight')!.value.every((x) => x === 1));
    assert.ok(model.weights.get('transformer.h.2.mlp.c_fc.bias')!.value.every((x) => x === 0));
    assert.equal(model.weights.size, 2 + 4 * 12 + 2);
  });
});

describe('parseGpt2Config', () => {
  const SIZES = { vocab_size: 50, n_positions: 32, n_embd: 12, n_layer: 2, n_head: 3 };

  test("HF's defaults: n_inner null is 4·n_embd, gelu_new, ε 1e-5, scaled attention, tied head", () => {
    const c = parseGpt2Config({ ...SIZES, n_inner: null });
    assert.deepEqual(c, {
      vocabSize: 50, nPositions: 32, nEmbd: 12, nLayer: 2, nHead: 3, nInner: 48,
      layerNormEpsilon: 1e-5, activation: 'gelu_new', scaleAttnWeights: true, scaleAttnByInverseLayerIdx: false,
      tieWordEmbeddings: true, addCrossAttention: false, initializerRange: 0.02,
    });
    assert.equal(parseGpt2Config({ ...SIZES, n_inner: 20 }).nInner, 20);
  });

  test('errors name the key and the value', () => {
    const { n_layer: _, ...noLayers } = SIZES;
    assert.throws(() => parseGpt2Config(noLayers), /^ConfigError: GPT2LMHeadModel config\.json: "n_layer" must be a positive integer, received nothing$/);
    assert.throws(() => parseGpt2Config({ ...SIZES, n_head: 5 }), /GPT2LMHeadModel config\.json: n_embd 12 is not divisible by n_head 5/);
    assert.throws(() => parseGpt2Config({ ...SIZES, activation_function: 'mish' }), /"activation_function" = "mish" is not supported \(supported: "gelu", "gelu_new"/);
    assert.throws(() => parseGpt2Config({ ...SIZES, add_cross_attention: 1 }), /"add_cross_attention" must be true or false, received 1/);
    assert.throws(() => parseGpt2Config({ ...SIZES, scale_attn_weights: 'yes' }), /"scale_attn_weights" must be true or false, received "yes"/);
  });

  test('gpt2ConfigJson writes a config that parses back to the same shape', () => {
    const json = gpt2ConfigJson({ layers: 3, heads: 2, embd: 16, blockSize: 64, dropout: 0.1 }, 65, { eos: 0 });
    assert.deepEqual(json.architectures, ['GPT2LMHeadModel']);
    const c = parseGpt2Config(json);
    assert.deepEqual([c.nLayer, c.nHead, c.nEmbd, c.nPositions, c.vocabSize, c.nInner], [3, 2, 16, 64, 65, 64]);
    assert.deepEqual([json.eos_token_id, json.bos_token_id, json.attn_pdrop], [0, null, 0.1]);
  });
});

describe('GPT-2 checkpoint layout', () => {
  test('gpt2Tensors: 12 per layer in [in, out] Conv1D layout; lm_head only when untied, and transposed', () => {
    const tied = parseGpt2Config({ vocab_size: 50, n_positions: 32, n_embd: 12, n_layer: 2, n_head: 3, n_inner: 20 });
    const tensors = gpt2Tensors(tied);
    assert.equal(tensors.length, 2 + 2 * 12 + 2);
    const byName = new Map(tensors.map((t) => [t.name, t]));
    assert.deepEqual(byName.get('transformer.h.1.attn.c_attn.weight')!.shape, [12, 36]);
    assert.deepEqual(byName.get('transformer.h.0.mlp.c_fc.weight')!.shape, [12, 20]);
    assert.deepEqual(byName.get('transformer.h.0.mlp.c_proj.weight')!.shape, [20, 12]);
    assert.deepEqual(byName.get('transformer.wpe.weight')!.shape, [32, 12]);
    assert.ok(tensors.every((t) => !t.transpose), 'Conv1D weights are already [in, out]');
    const untied = gpt2Tensors({ ...tied, tieWordEmbeddings: false }).at(-1)!;
    assert.deepEqual(untied, { name: 'lm_head.weight', shape: [50, 12], transpose: true });
  });

  test('withTransformerPrefix adds the prefix where it is missing, and only there', () => {
    const t = { shape: [1], data: new Float32Array(1) };
    const out = withTransformerPrefix(new Map([['wte.weight', t], ['transformer.wpe.weight', t], ['lm_head.weight', t]]));
    assert.deepEqual([...out.keys()], ['transformer.wte.weight', 'transformer.wpe.weight', 'lm_head.weight']);
  });
});

describe('GPT-2 config switches change the forward pass as HF defines them', () => {
  // Equivalences: each switch equals a weight edit on the default model. Random N(0, 0.5) weights
  // make attention far from uniform, so a switch that did nothing would move the logits by > 1e-2.
  // The logits stay below 5, where 1e-5 is ~20 float32 ulps: room for the reordered products only.
  const base = parseGpt2Config({ vocab_size: 30, n_positions: 16, n_embd: 8, n_layer: 2, n_head: 2, initializer_range: 0.5 });
  const model = Gpt2.init(base, new Rng(8));
  const ids = [4, 17, 2, 29, 11, 3];

  /** The default model's weights, with each layer's query columns of c_attn (weight and bias) multiplied by factor(layer). */
  function scaledQueries(factor: (layer: number) => number): Map<string, Variable> {
    const d = base.nEmbd;
    const out = new Map<string, Variable>();
    for (const [name, v] of model.weights) {
      const m = /^transformer\.h\.(\d+)\.attn\.c_attn\.(weight|bias)$/.exec(name);
      const value = Float32Array.from(v.value);
      if (m) {
        const f = factor(Number(m[1]));
        const rows = m[2] === 'weight' ? d : 1;
        for (let r = 0; r < rows; r++) for (let c = 0; c < d; c++) value[r * 3 * d + c]! *= f;
      }
      out.set(name, new Variable(name, v.shape, value));
    }
    return out;
  }

  const logitsOf = async (config: Gpt2Config, weights: ReadonlyMap<string, Variable>) => {
    const lm = await CausalLM.fromModel(new Gpt2(config, weights));
    try {
      return (await fullForward(lm, ids)).logits;
    } finally {
      await lm.release();
    }
  };
  let reference: Float32Array;
  before(async () => {
    reference = await logitsOf(base, model.weights);
  });

  test('scale_attn_weights false drops the 1/√head_dim on the scores', async () => {
    const unscaled = { ...base, scaleAttnWeights: false };
    assert.ok(maxAbsDiff(await logitsOf(unscaled, model.weights), reference) > 1e-2, 'the switch matters');
    assertClose(await logitsOf(unscaled, scaledQueries(() => 1 / Math.sqrt(4))), reference, 1e-5, 'queries pre-scaled by 1/√4');
  });

  test('scale_attn_by_inverse_layer_idx divides layer i’s scores by i + 1', async () => {
    const byLayer = { ...base, scaleAttnByInverseLayerIdx: true };
    const edited = await logitsOf(base, scaledQueries((layer) => 1 / (layer + 1)));
    assert.ok(maxAbsDiff(edited, reference) > 1e-2, 'the edit matters');
    assertClose(await logitsOf(byLayer, model.weights), edited, 1e-5, 'switch vs pre-scaled queries');
  });

  test('an untied lm_head (stored [vocab, n_embd]) equal to wte gives the tied logits', async () => {
    const untied = { ...base, tieWordEmbeddings: false };
    const wte = model.weights.get('transformer.wte.weight')!;
    const head = { shape: wte.shape, data: wte.value };
    const checkpoint = new Map([...model.weights].map(([k, v]) => [k, { shape: v.shape, data: v.value }]));
    checkpoint.set('lm_head.weight', head);
    const json = { ...gpt2ConfigJson({ layers: 2, heads: 2, embd: 8, blockSize: 16, dropout: 0 }, 30), tie_word_embeddings: false };
    const loaded = Gpt2.fromCheckpoint(json, checkpoint);
    assert.equal(loaded.config.tieWordEmbeddings, untied.tieWordEmbeddings);
    assertClose(await logitsOf(loaded.config, loaded.weights), reference, 1e-5, 'untied head = wte');
  });
});
