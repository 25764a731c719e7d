import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { loadHfCheckpoint, type HfCheckpoint } from '../../../src/io/hf-checkpoint.js';
import { CausalLM } from '../../../src/models/causal-lm.js';
import { grad } from '../../../src/autodiff/grad.js';
import { trace } from '../../../src/core/graph.js';
import * as F from '../../../src/core/ops/index.js';
import { Rng } from '../../../src/core/rng.js';
import { Llama, llamaTensors, parseLlamaConfig } from '../../../src/models/llama/model.js';
import { loadCausalLmModel } from '../../../src/models/registry.js';
import { CompiledGraph, int64 } from '../../../src/runtime/session.js';
import { defaultInverseFrequencies } from '../../../src/models/transformer/rope.js';
import { fixturePath } from '../../helpers/fixtures.js';
import { assertClose, fullForward, maxAbsDiff, parityTests } from '../../helpers/causal-lm.js';

describe('Llama (llama-tiny fixture, BF16 weights)', () => {
  const fx = parityTests('llama-tiny');
  let ckpt: HfCheckpoint;
  before(async () => {
    ckpt = await loadHfCheckpoint(fixturePath('llama-tiny'));
  });

  /** Logits of prompt 1 from a variant of llama-tiny (other architecture name, config or weights). */
  async function variantLogits(config: Record<string, unknown>, weights = ckpt.weights): Promise<Float32Array> {
    const lm = await CausalLM.fromModel(loadCausalLmModel(config, weights));
    try {
      return (await fullForward(lm, fx.golden.single[1]!.input_ids)).logits;
    } finally {
      await lm.release();
    }
  }

  test('Qwen2 (q/k/v biases) and Mistral (sliding window) differ from Llama by config only', async () => {
    const reference = (await fullForward(fx.lm, fx.golden.single[1]!.input_ids)).logits;
    const withBiases = new Map(ckpt.weights);
    for (let i = 0; i < 2; i++) {
      withBiases.set(`model.layers.${i}.self_attn.q_proj.bias`, { shape: [48], data: new Float32Array(48) });
      for (const kv of ['k', 'v']) withBiases.set(`model.layers.${i}.self_attn.${kv}_proj.bias`, { shape: [24], data: new Float32Array(24) });
    }
    assertClose(await variantLogits({ ...ckpt.config, architectures: ['Qwen2ForCausalLM'] }, withBiases), reference, 1e-5, 'Qwen2 with zero biases');
    assert.throws(() => loadCausalLmModel({ ...ckpt.config, architectures: ['Qwen2ForCausalLM'] }, ckpt.weights), /Qwen2ForCausalLM: checkpoint has no tensor 'model\.layers\.0\.self_attn\.q_proj\.bias'/);
    // A window wider than the prompt changes nothing; a window of 1 lets each token see only itself.
    assertClose(await variantLogits({ ...ckpt.config, architectures: ['MistralForCausalLM'], sliding_window: 64 }), reference, 1e-5, 'Mistral, wide window');
    const narrow = await variantLogits({ ...ckpt.config, architectures: ['MistralForCausalLM'], sliding_window: 1 });
    assert.ok(maxAbsDiff(narrow, reference) > 1e-2, 'a window of 1 changes the logits');
  });

  test('a window of one token attends to the token alone, in every layer', async () => {
    // With only itself to attend to, each position's output is a function of its own token and position:
    // the last logits of a prompt equal those of its last token placed at the same position behind padding.
    const config = { ...ckpt.config, architectures: ['MistralForCausalLM'], sliding_window: 1 };
    const lm = await CausalLM.fromModel(loadCausalLmModel(config, ckpt.weights));
    try {
      const ids = fx.golden.single[0]!.input_ids;
      const t = ids.length;
      const whole = await lm.forward({ ids: BigInt64Array.from(ids, BigInt), batch: 1, attentionMask: BigInt64Array.from(ids, () => 1n), positionIds: BigInt64Array.from(ids, (_, i) => BigInt(i)) });
      const alone = await lm.forward({ ids: BigInt64Array.of(BigInt(ids[t - 1]!)), batch: 1, attentionMask: BigInt64Array.of(1n), positionIds: BigInt64Array.of(BigInt(t - 1)) });
      assertClose(whole.logits, alone.logits, 1e-4, 'window of one');
    } finally {
      await lm.release();
    }
  });

  test('RoPE frequencies come from the config: rope_parameters (this fixture) or an older top-level rope_theta', () => {
    const { rope_parameters: _, ...older } = ckpt.config as Record<string, unknown>;
    const top = parseLlamaConfig({ ...older, rope_theta: 500000 }, 'LlamaForCausalLM');
    assert.deepEqual(top.ropeFrequencies, defaultInverseFrequencies(12, 500000));
    assert.deepEqual(parseLlamaConfig(ckpt.config, 'LlamaForCausalLM').ropeFrequencies, defaultInverseFrequencies(12, 10000));
  });

  test('GQA: a mis-shaped k_proj names the tensor and both shapes', () => {
    const bad = new Map(ckpt.weights);
    bad.set('model.layers.1.self_attn.k_proj.weight', { shape: [48, 48], data: new Float32Array(48 * 48) });
    assert.throws(() => loadCausalLmModel(ckpt.config, bad), /LlamaForCausalLM: tensor 'model\.layers\.1\.self_attn\.k_proj\.weight' has shape \[48, 48\] in the checkpoint, expected \[24, 48\]/);
  });
});

describe('Llama training path', () => {
  test('gradients through RoPE, GQA and RMSNorm match finite differences', async () => {
    const json = { architectures: ['LlamaForCausalLM'], vocab_size: 40, hidden_size: 16, intermediate_size: 24, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 32, tie_word_embeddings: true };
    const config = parseLlamaConfig(json, 'LlamaForCausalLM');
    const rng = new Rng(11);
    const weights = new Map(llamaTensors(config).map(({ name, shape }) => {
      const data = Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => (name.endsWith('norm.weight') ? 1 + 0.1 * rng.normal() : 0.3 * rng.normal()));
      return [name, { shape, data }];
    }));
    const model = Llama.fromCheckpoint(json, weights);
    const ids = [3, 17, 5, 29, 8, 1];
    const probe = Float32Array.from({ length: ids.length * 40 }, () => rng.normal());
    const names = ['model.layers.0.self_attn.q_proj.weight', 'model.layers.1.self_attn.k_proj.weight', 'model.layers.0.input_layernorm.weight'];
    const { graph, input, loss, grads } = trace((g) => {
      const input = g.input('input_ids', [1, ids.length], 'int64');
      const { logits } = model.forward({ inputIds: input });
      const loss = F.sum(F.mul(logits, g.constant(probe, [1, ids.length, 40], 'float32')));
      return { graph: g, input, loss, grads: grad(loss, names.map((n) => g.param(model.weights.get(n)!))) };
    });
    const outputs = Object.fromEntries([['loss', loss], ...grads.map((t, i) => [`g${i}`, t!])]);
    const cg = await CompiledGraph.compile({ graph, inputs: [input], outputs, variables: 'inputs' });
    try {
      const feeds = { input_ids: int64(ids, [1, ids.length]) };
      const run = async () => ((await cg.run(feeds)).loss!.data as Float32Array)[0]!;
      const analytic = await cg.run(feeds);
      for (const [i, name] of names.entries()) {
        const v = model.weights.get(name)!;
        const g = analytic[`g${i}`]!.data as Float32Array;
        for (const j of [0, 5, v.size - 1]) {
          const x = v.value[j]!;
          const h = 1e-2;
          v.value[j] = x + h;
          const up = await run();
          v.value[j] = x - h;
          const down = await run();
          v.value[j] = x;
          const numeric = (up - down) / (2 * h);
          assert.ok(Math.abs(numeric - g[j]!) <= 5e-3 * Math.max(1, Math.abs(numeric)), `${name}[${j}]: autodiff ${g[j]} vs finite difference ${numeric}`);
        }
      }
    } finally {
      await cg.release();
    }
  });
});

describe('parseLlamaConfig', () => {
  const SIZES = { vocab_size: 40, hidden_size: 16, intermediate_size: 24, num_hidden_layers: 2, num_attention_heads: 4, max_position_embeddings: 32 };

  test("HF's defaults: KV heads = heads, head_dim = hidden / heads, silu, ε 1e-6, untied, no biases, no window", () => {
    const c = parseLlamaConfig(SIZES, 'LlamaForCausalLM');
    assert.deepEqual(
      [c.numKvHeads, c.headDim, c.hiddenAct, c.rmsNormEps, c.tieWordEmbeddings, c.qkvBias, c.outputBias, c.mlpBias, c.slidingWindow],
      [4, 4, 'silu', 1e-6, false, false, false, false, undefined],
    );
    assert.equal(parseLlamaConfig({ ...SIZES, head_dim: 8 }, 'LlamaForCausalLM').headDim, 8, 'an explicit head_dim wins');
  });

  test('biases: Llama attention_bias puts them on q, k, v and o; Qwen2 always has q/k/v biases and never o', () => {
    const pick = (c: { qkvBias: boolean; outputBias: boolean; mlpBias: boolean }) => [c.qkvBias, c.outputBias, c.mlpBias];
    assert.deepEqual(pick(parseLlamaConfig({ ...SIZES, attention_bias: true, mlp_bias: true }, 'LlamaForCausalLM')), [true, true, true]);
    assert.deepEqual(pick(parseLlamaConfig(SIZES, 'Qwen2ForCausalLM')), [true, false, false]);
    assert.deepEqual(pick(parseLlamaConfig({ ...SIZES, attention_bias: true }, 'Qwen2ForCausalLM')), [true, false, false]);
  });

  test('sliding_window is honoured for Mistral only; Qwen2 with use_sliding_window is refused', () => {
    assert.equal(parseLlamaConfig({ ...SIZES, sliding_window: 8 }, 'MistralForCausalLM').slidingWindow, 8);
    assert.equal(parseLlamaConfig({ ...SIZES, sliding_window: null }, 'MistralForCausalLM').slidingWindow, undefined, 'null: full attention');
    assert.equal(parseLlamaConfig({ ...SIZES, sliding_window: 8 }, 'LlamaForCausalLM').slidingWindow, undefined);
    assert.equal(parseLlamaConfig({ ...SIZES, sliding_window: 8, use_sliding_window: false }, 'Qwen2ForCausalLM').slidingWindow, undefined);
    assert.throws(() => parseLlamaConfig({ ...SIZES, sliding_window: 8, use_sliding_window: true }, 'Qwen2ForCausalLM'), /^ConfigError: Qwen2ForCausalLM config\.json: use_sliding_window = true is not supported$/);
    assert.throws(() => parseLlamaConfig({ ...SIZES, sliding_window: 0 }, 'MistralForCausalLM'), /MistralForCausalLM config\.json: "sliding_window" must be a positive integer, received 0/);
  });

  test('errors name the architecture, the key and the value', () => {
    assert.throws(() => parseLlamaConfig({ ...SIZES, num_key_value_heads: 3 }, 'LlamaForCausalLM'), /^ConfigError: LlamaForCausalLM config\.json: num_attention_heads 4 is not a multiple of num_key_value_heads 3$/);
    assert.throws(() => parseLlamaConfig({ ...SIZES, hidden_act: 'tanh' }, 'LlamaForCausalLM'), /"hidden_act" = "tanh" is not supported/);
    assert.throws(() => parseLlamaConfig({ ...SIZES, pretraining_tp: 2 }, 'LlamaForCausalLM'), /"pretraining_tp" = 2 is not supported \(supported: 1\)/);
    const { intermediate_size: _, ...noMlp } = SIZES;
    assert.throws(() => parseLlamaConfig(noMlp, 'MistralForCausalLM'), /MistralForCausalLM config\.json: "intermediate_size" must be a positive integer, received nothing/);
  });
});

describe('llamaTensors', () => {
  test('nn.Linear weights listed [out, in] and transposed on load; GQA and an explicit head_dim set the q/k/v/o shapes', () => {
    const c = parseLlamaConfig({ vocab_size: 40, hidden_size: 16, intermediate_size: 24, num_hidden_layers: 1, num_attention_heads: 4, num_key_value_heads: 2, head_dim: 6, max_position_embeddings: 32 }, 'LlamaForCausalLM');
    const byName = new Map(llamaTensors(c).map((t) => [t.name, t]));
    const shape = (n: string) => byName.get(n)!.shape;
    assert.deepEqual(shape('model.layers.0.self_attn.q_proj.weight'), [24, 16]);
    assert.deepEqual(shape('model.layers.0.self_attn.k_proj.weight'), [12, 16]);
    assert.deepEqual(shape('model.layers.0.self_attn.o_proj.weight'), [16, 24]);
    assert.deepEqual(shape('model.layers.0.mlp.down_proj.weight'), [16, 24]);
    assert.deepEqual(shape('lm_head.weight'), [40, 16], 'untied: the head is listed');
    const transposed = [...byName.values()].filter((t) => t.transpose).map((t) => t.name);
    assert.equal(transposed.length, 7 + 1, 'q, k, v, o, gate, up, down and lm_head');
    assert.ok(!byName.get('model.embed_tokens.weight')!.transpose && !byName.get('model.norm.weight')!.transpose);
    assert.equal(byName.size, 1 + 9 + 1 + 1);
  });

  test('a tied checkpoint may still carry lm_head and rotary inv_freq buffers; both are ignored', () => {
    const json = { architectures: ['LlamaForCausalLM'], vocab_size: 10, hidden_size: 4, intermediate_size: 6, num_hidden_layers: 1, num_attention_heads: 2, max_position_embeddings: 8, tie_word_embeddings: true };
    const c = parseLlamaConfig(json, 'LlamaForCausalLM');
    const weights = new Map(llamaTensors(c).map(({ name, shape }) => [name, { shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)) }]));
    assert.ok(!weights.has('lm_head.weight'));
    weights.set('lm_head.weight', { shape: [10, 4], data: new Float32Array(40) });
    weights.set('model.layers.0.self_attn.rotary_emb.inv_freq', { shape: [1], data: new Float32Array(1) });
    assert.equal(Llama.fromCheckpoint(json, weights).weights.size, weights.size - 2);
  });
});
