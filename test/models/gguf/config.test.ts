/**
 * GGUF metadata → config, the Qwen2 variant (q/k/v biases, rows not permuted),
 * and files the loader refuses, each naming the key or tensor.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { Rng } from '../../../src/core/rng.js';
import { GgufFormatError, GgufMetadataError, GgufTensorTypeError, GgufError } from '../../../src/io/gguf/errors.js';
import { CausalLM } from '../../../src/models/causal-lm.js';
import { Llama, llamaInitialWeights, llamaTensors, parseLlamaConfig, type LlamaArchitecture } from '../../../src/models/llama/model.js';
import { bindWeights } from '../../../src/models/transformer/weights.js';
import { QuantizeSettingError } from '../../../src/models/quantize/config.js';
import { loadCausalLmModel } from '../../../src/models/registry.js';
import type { CheckpointTensor } from '../../../src/models/transformer/weights.js';
import { fullForward, maxAbsDiff } from '../../helpers/causal-lm.js';
import { fixturePath } from '../../helpers/fixtures.js';
import { checkpointToGguf, f32Bytes, str, TYPE, type ConvertOptions } from '../../helpers/gguf-writer.js';

const FIXTURE = fixturePath('llama-tiny');

function small(architecture: LlamaArchitecture): Record<string, unknown> {
  return {
    architectures: [architecture], vocab_size: 64, hidden_size: 64, intermediate_size: 256, num_hidden_layers: 2,
    num_attention_heads: 4, num_key_value_heads: 2, head_dim: 16, max_position_embeddings: 64, rms_norm_eps: 1e-6,
    rope_theta: 10000, initializer_range: 0.2, tie_word_embeddings: false, bos_token_id: 0, eos_token_id: 1,
  };
}

function randomWeights(json: Record<string, unknown>, architecture: LlamaArchitecture): Map<string, CheckpointTensor> {
  const rng = new Rng(5);
  const w = llamaInitialWeights(parseLlamaConfig(json, architecture), rng);
  for (const [name, t] of w) if (name.endsWith('.bias') || name.endsWith('norm.weight')) t.data.forEach((_, i) => (t.data[i] = (name.endsWith('.bias') ? 0 : 1) + 0.3 * rng.normal()));
  return w;
}

describe('GGUF config and refusals', () => {
  const dir = mkdtempSync(join(tmpdir(), 'forja-gguf-config-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const json = small('LlamaForCausalLM');
  const weights = randomWeights(json, 'LlamaForCausalLM');
  const write = async (name: string, opts: ConvertOptions = {}) => {
    const path = join(dir, name);
    await checkpointToGguf(FIXTURE, path, { config: json, weights, ...opts });
    return path;
  };

  test('the config comes from the metadata and the logits equal the float checkpoint (untied, GQA)', async () => {
    const path = await write('llama.gguf');
    const lm = await CausalLM.load(path);
    const ref = await CausalLM.fromModel(loadCausalLmModel(json, weights));
    try {
      assert.deepEqual(lm.model.dims, { layers: 2, heads: 4, kvHeads: 2, headDim: 16, hidden: 64, vocabSize: 64, maxPositions: 64 });
      const ids = [3, 9, 27, 50, 2, 2, 61];
      const d = maxAbsDiff((await fullForward(lm, ids)).logits, (await fullForward(ref, ids)).logits);
      assert.ok(d < 1e-5, `max diff ${d}`);
    } finally {
      await Promise.all([lm.release(), ref.release()]);
    }
  });

  test('Qwen2: q/k/v biases, rows as stored (llama.cpp does not permute Qwen2)', async () => {
    const qjson = small('Qwen2ForCausalLM');
    const qweights = randomWeights(qjson, 'Qwen2ForCausalLM');
    assert.ok(qweights.has('model.layers.0.self_attn.q_proj.bias'));
    const path = join(dir, 'qwen2.gguf');
    await checkpointToGguf(FIXTURE, path, { config: qjson, weights: qweights });
    const lm = await CausalLM.load(path);
    const ref = await CausalLM.fromModel(loadCausalLmModel(qjson, qweights));
    try {
      assert.equal(lm.model.architecture, 'Qwen2ForCausalLM');
      const ids = [1, 2, 3, 40, 41, 63];
      const d = maxAbsDiff((await fullForward(lm, ids)).logits, (await fullForward(ref, ids)).logits);
      assert.ok(d < 1e-5, `max diff ${d}`);
    } finally {
      await Promise.all([lm.release(), ref.release()]);
    }
  });

  test("Llama 3.1's rope_freqs.weight divides the RoPE frequencies", async () => {
    const factors = Float32Array.from({ length: 8 }, (_, i) => 1 + i * i); // head_dim 16: 8 frequencies
    const path = await write('rope.gguf', { extraTensors: [{ name: 'rope_freqs.weight', dims: [8], type: TYPE.F32, data: f32Bytes(factors) }] });
    const config = parseLlamaConfig(json, 'LlamaForCausalLM');
    const scaled = { ...config, ropeFrequencies: config.ropeFrequencies.map((f, i) => f / factors[i]!) };
    const lm = await CausalLM.load(path);
    const ref = await CausalLM.fromModel(new Llama(scaled, bindWeights('reference', llamaTensors(config), weights)));
    const plain = await CausalLM.fromModel(loadCausalLmModel(json, weights));
    try {
      const ids = [4, 8, 15, 16, 23, 42, 60, 61];
      const got = (await fullForward(lm, ids)).logits;
      assert.ok(maxAbsDiff(got, (await fullForward(ref, ids)).logits) < 1e-5);
      assert.ok(maxAbsDiff(got, (await fullForward(plain, ids)).logits) > 1e-3, 'the factors change the model');
    } finally {
      await Promise.all([lm.release(), ref.release(), plain.release()]);
    }
  });

  test('an unsupported quantization type is refused with the tensor and the type named', async () => {
    const path = await write('q2k.gguf', { typeOf: (name) => (name === 'blk.1.ffn_down.weight' ? TYPE.Q2_K : TYPE.F32) });
    await assert.rejects(CausalLM.load(path), (e: unknown) => e instanceof GgufTensorTypeError && e.tensor === 'blk.1.ffn_down.weight' && e.type === 'Q2_K' && /is Q2_K, which this loader does not read \(supported: F32, F16, BF16, Q4_0/.test(e.message));
  });

  test('a missing required metadata key, or an architecture outside the family, is refused by key', async () => {
    const noLayers = await write('no-layers.gguf', { metadata: { 'llama.block_count': undefined } });
    await assert.rejects(CausalLM.load(noLayers), (e: unknown) => e instanceof GgufMetadataError && e.key === 'llama.block_count' && /no metadata key 'llama\.block_count' \(the number of layers\)/.test(e.message));
    const phi = await write('phi.gguf', { metadata: { 'general.architecture': str('phi3') } });
    await assert.rejects(CausalLM.load(phi), (e: unknown) => e instanceof GgufMetadataError && e.key === 'general.architecture' && /"phi3" is not supported \(supported: llama, qwen2/.test(e.message));
    const noEps = await write('no-eps.gguf', { metadata: { 'llama.attention.layer_norm_rms_epsilon': undefined } });
    await assert.rejects(CausalLM.load(noEps), /no metadata key 'llama\.attention\.layer_norm_rms_epsilon'/);
  });

  test('a truncated file and a tensor count that disagrees with the header are refused', async () => {
    const whole = readFileSync(await write('whole.gguf'));
    const cut = join(dir, 'cut.gguf');
    writeFileSync(cut, whole.subarray(0, whole.length - 1000));
    await assert.rejects(CausalLM.load(cut), (e: unknown) => e instanceof GgufFormatError && e.tensor !== undefined && /cut short: tensor '.+' \(F32/.test(e.message));
    // tensor_count sits after the magic and version.
    const fewer = Buffer.from(whole);
    fewer.writeBigUInt64LE(fewer.readBigUInt64LE(8) - 1n, 8);
    writeFileSync(join(dir, 'fewer.gguf'), fewer);
    await assert.rejects(CausalLM.load(join(dir, 'fewer.gguf')), /tensor_count/);
  });

  test('a missing tensor is named by its GGUF name; loadIn is refused for GGUF files', async () => {
    const partial = new Map(weights);
    partial.delete('model.layers.1.mlp.up_proj.weight');
    const path = await write('partial.gguf', { weights: partial });
    await assert.rejects(CausalLM.load(path), (e: unknown) => e instanceof GgufError && e.tensor === 'blk.1.ffn_up.weight' && /no tensor 'blk\.1\.ffn_up\.weight'/.test(e.message));
    await assert.rejects(CausalLM.load(await write('any.gguf'), { loadIn: '4bit' }), (e: unknown) => e instanceof QuantizeSettingError && /GGUF file, quantized as stored/.test(e.message));
  });
});
