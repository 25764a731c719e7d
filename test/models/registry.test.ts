import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Gpt2 } from '../../src/models/gpt2/model.js';
import { Llama } from '../../src/models/llama/model.js';
import { ARCHITECTURES, architectureSpec, loadCausalLmModel, supportedArchitectures } from '../../src/models/registry.js';
import { ConfigError } from '../../src/models/transformer/config.js';
import type { CheckpointTensor } from '../../src/models/transformer/weights.js';

const LLAMA_SIZES = { vocab_size: 20, hidden_size: 8, intermediate_size: 12, num_hidden_layers: 1, num_attention_heads: 2, num_key_value_heads: 1, max_position_embeddings: 16 };
const CONFIGS: Record<string, Record<string, unknown>> = {
  GPT2LMHeadModel: { architectures: ['GPT2LMHeadModel'], vocab_size: 20, n_positions: 16, n_embd: 8, n_layer: 1, n_head: 2 },
  LlamaForCausalLM: { architectures: ['LlamaForCausalLM'], ...LLAMA_SIZES },
  Qwen2ForCausalLM: { architectures: ['Qwen2ForCausalLM'], ...LLAMA_SIZES },
  MistralForCausalLM: { architectures: ['MistralForCausalLM'], ...LLAMA_SIZES, sliding_window: 4 },
};
const MODEL_TYPES = { GPT2LMHeadModel: 'gpt2', LlamaForCausalLM: 'llama', Qwen2ForCausalLM: 'qwen2', MistralForCausalLM: 'mistral' };

/** A zero checkpoint holding exactly the tensors a spec lists. */
const zeroWeights = (config: Record<string, unknown>) =>
  new Map<string, CheckpointTensor>(architectureSpec(config).spec.tensors(config).map(({ name, shape }) => [name, { shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)) }]));

describe('registry', () => {
  test('lists GPT-2 and the Llama family with their HF model_type', () => {
    assert.deepEqual(supportedArchitectures(), Object.keys(MODEL_TYPES));
    for (const [name, type] of Object.entries(MODEL_TYPES)) assert.equal(ARCHITECTURES[name]!.modelType, type, name);
  });

  for (const [name, config] of Object.entries(CONFIGS)) {
    test(`${name}: the listed tensors are exactly what loading binds`, () => {
      const weights = zeroWeights(config);
      const model = loadCausalLmModel(config, weights);
      assert.equal(model.architecture, name);
      assert.ok(model instanceof (name === 'GPT2LMHeadModel' ? Gpt2 : Llama), `${name} builds its own class`);
      assert.deepEqual([...model.weights.keys()].sort(), [...weights.keys()].sort());
      assert.equal(model.dims.vocabSize, 20);
      assert.equal(model.dims.maxPositions, 16);
    });
  }

  test('the architecture decides the layout: Qwen2 lists q/k/v biases, Llama does not; Mistral keeps its window', () => {
    const biases = (config: Record<string, unknown>) => [...zeroWeights(config).keys()].filter((k) => k.endsWith('_proj.bias'));
    assert.deepEqual(biases(CONFIGS.LlamaForCausalLM!), []);
    assert.deepEqual(biases(CONFIGS.Qwen2ForCausalLM!), ['model.layers.0.self_attn.q_proj.bias', 'model.layers.0.self_attn.k_proj.bias', 'model.layers.0.self_attn.v_proj.bias']);
    const mistral = loadCausalLmModel(CONFIGS.MistralForCausalLM!, zeroWeights(CONFIGS.MistralForCausalLM!)) as Llama;
    assert.equal(mistral.config.slidingWindow, 4);
  });

  test('an unsupported or missing architecture is a ConfigError naming the config and the supported ones', () => {
    const falcon = { ...CONFIGS.GPT2LMHeadModel, architectures: ['FalconForCausalLM'] };
    assert.throws(
      () => loadCausalLmModel(falcon, new Map(), 'my/config.json'),
      (e: unknown) => e instanceof ConfigError && /^my\/config\.json: architecture "FalconForCausalLM" is not supported \(supported: GPT2LMHeadModel, LlamaForCausalLM, Qwen2ForCausalLM, MistralForCausalLM\)$/.test(e.message),
    );
    assert.throws(() => architectureSpec({ model_type: 'gpt2' }), /^ConfigError: config\.json: config\.json has no "architectures" list, received nothing$/);
  });

  test("the architecture's own config errors come through, naming it and the key", () => {
    const { vocab_size: _, ...noVocab } = CONFIGS.Qwen2ForCausalLM!;
    assert.throws(() => architectureSpec(noVocab).spec.tensors(noVocab), /Qwen2ForCausalLM config\.json: "vocab_size" must be a positive integer, received nothing/);
  });
});
