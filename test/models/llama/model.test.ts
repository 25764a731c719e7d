import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { loadHfCheckpoint, type HfCheckpoint } from '../../../src/io/hf-checkpoint.js';
import { CausalLM } from '../../../src/models/causal-lm.js';
import { parseLlamaConfig } from '../../../src/models/llama/model.js';
import { grad } from '../../../src/autodiff/grad.js';
import { trace } from '../../../src/core/graph.js';
import * as F from '../../../src/core/ops/index.js';
import { Rng } from '../../../src/core/rng.js';
import { Llama, llamaTensors } from '../../../src/models/llama/model.js';
import { loadCausalLmModel } from '../../../src/models/registry.js';
import { CompiledGraph, int64 } from '../../../src/runtime/session.js';
import { ConfigReader } from '../../../src/models/transformer/config.js';
import { defaultInverseFrequencies, ropeFrequencies } from '../../../src/models/transformer/rope.js';
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

  test('RoPE θ is read from rope_parameters or the top level, and scaling types are checked', () => {
    const { rope_parameters: _, ...older } = ckpt.config as Record<string, unknown>;
    const top = parseLlamaConfig({ ...older, rope_theta: 500000 }, 'LlamaForCausalLM');
    assert.deepEqual(top.ropeFrequencies, defaultInverseFrequencies(12, 500000));
    assert.equal(parseLlamaConfig(ckpt.config, 'LlamaForCausalLM').ropeFrequencies[1], Math.fround(1 / Math.fround(10000 ** Math.fround(2 / 12))));
    const yarn = new ConfigReader({ rope_parameters: { rope_theta: 1e4, rope_type: 'yarn' } }, 'test config');
    assert.throws(() => ropeFrequencies(yarn, 12), /test config: rope_type "yarn" is not supported \(supported: default, linear, llama3\)/);
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
