/**
 * Whole models on Q4_0 and Q4_K blocks (llama-tiny's sizes are not whole
 * blocks, so a random Llama of hidden size 256 stands in): the GGUF model
 * must compute the float model over the reference dequantization of the same
 * blocks (test/helpers/gguf-reference.ts), logits and greedy ids alike, with
 * ORT's fp32 compute (accuracy_level 1). Q4_0 is tied (the head and the
 * gather share one uint8 table); Q4_K's embedding is gathered from a float16
 * table (fractional zero points), so its reference rounds that table to
 * float16 too, untied and tied (the head still on the blocks).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { Rng } from '../../../src/core/rng.js';
import { f16ToF32, f32ToF16 } from '../../../src/io/safetensors/floats.js';
import { CausalLM } from '../../../src/models/causal-lm.js';
import { GgufModel } from '../../../src/models/gguf/model.js';
import { llamaInitialWeights, parseLlamaConfig } from '../../../src/models/llama/model.js';
import { loadCausalLmModel } from '../../../src/models/registry.js';
import { fullForward, greedy, maxAbsDiff } from '../../helpers/causal-lm.js';
import { fixturePath } from '../../helpers/fixtures.js';
import { refQ4_0, refQ4_K } from '../../helpers/gguf-reference.js';
import { checkpointToGguf, encode, TYPE } from '../../helpers/gguf-writer.js';

const FIXTURE = fixturePath('llama-tiny');

function config(tied: boolean): Record<string, unknown> {
  return {
    architectures: ['LlamaForCausalLM'], model_type: 'llama', vocab_size: 512, hidden_size: 256, intermediate_size: 512,
    num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, head_dim: 64, hidden_act: 'silu',
    max_position_embeddings: 128, rms_norm_eps: 1e-6, rope_theta: 10000, initializer_range: 0.1,
    tie_word_embeddings: tied, bos_token_id: 0, eos_token_id: 1,
  };
}

describe('GGUF Q4_0 / Q4_K models', () => {
  const dir = mkdtempSync(join(tmpdir(), 'forja-gguf-q4-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const prompts = [[5, 17, 200, 33, 8, 91, 400, 2], [300, 301, 302], [7, 7, 7, 7, 7, 120]];

  for (const { name, type, ref, tied } of [
    { name: 'Q4_0', type: TYPE.Q4_0, ref: refQ4_0, tied: true },
    { name: 'Q4_K', type: TYPE.Q4_K, ref: refQ4_K, tied: false },
    { name: 'Q4_K tied', type: TYPE.Q4_K, ref: refQ4_K, tied: true },
  ]) {
    test(`${name}: logits and greedy ids of the float model over the reference dequantization`, async (t) => {
      const json = config(tied);
      const weights = llamaInitialWeights(parseLlamaConfig(json, 'LlamaForCausalLM'), new Rng(3));
      const path = join(dir, `${name}.gguf`);
      await checkpointToGguf(FIXTURE, path, { config: json, weights, typeOf: () => type });
      const reference = new Map(weights);
      // Fractional zero points gather from a float16 table; a tied head still reads the blocks, so its
      // reference is an untied model whose head is the exact dequantization.
      const halfTable = type === TYPE.Q4_K;
      for (const [hf, w] of weights) {
        if (w.shape.length !== 2) continue;
        const data = ref(encode(type, w.data), w.data.length);
        reference.set(hf, { shape: w.shape, data: hf === 'model.embed_tokens.weight' && halfTable ? f16ToF32(f32ToF16(data)) : data });
        if (hf === 'model.embed_tokens.weight' && halfTable && tied) reference.set('lm_head.weight', { shape: w.shape, data });
      }
      const refJson = halfTable && tied ? { ...json, tie_word_embeddings: false } : json;
      const lm = await CausalLM.load(path, { accuracyLevel: 1 });
      const refLm = await CausalLM.fromModel(loadCausalLmModel(refJson, reference));
      const float = await CausalLM.fromModel(loadCausalLmModel(json, weights));
      try {
        const model = lm.model as GgufModel;
        assert.equal(model.linears.size, 7 * 2 + 1, 'every linear map and the head on MatMulNBits');
        assert.equal(model.embedding?.kind, halfTable ? 'float16' : 'mapped');
        for (const p of prompts) {
          const got = (await fullForward(lm, p)).logits;
          const want = (await fullForward(refLm, p)).logits;
          const scale = Math.max(1, ...Array.from(want, Math.abs));
          assert.ok(maxAbsDiff(got, want) <= 1e-4 * scale, `${name} logits: max diff ${maxAbsDiff(got, want)} (largest logit ${scale})`);
        }
        let agree = 0;
        for (const p of prompts) {
          const mask = [p.map(() => 1)];
          const [ids] = await greedy(lm, [p], mask, 16);
          assert.deepEqual(ids, (await greedy(refLm, [p], mask, 16))[0]);
          const [floatIds] = await greedy(float, [p], mask, 16);
          const at = ids!.findIndex((id, j) => id !== floatIds![j]);
          agree += at < 0 ? 16 : at - p.length;
        }
        t.diagnostic(`${name}: ${agree} of ${16 * prompts.length} greedy tokens equal to the unquantized model's before the first difference`);
      } finally {
        await Promise.all([lm.release(), refLm.release(), float.release()]);
      }
    });
  }
});
