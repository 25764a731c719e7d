import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { saveHfCheckpoint } from '../../../src/io/hf-save.js';
import { loadF32 } from '../../../src/io/safetensors.js';
import { CausalLM } from '../../../src/models/causal-lm.js';
import { Rng } from '../../../src/core/rng.js';
import { Gpt2 } from '../../../src/models/gpt2/model.js';
import { Llama, llamaConfigJson, parseLlamaConfig } from '../../../src/models/llama/model.js';
import { createLora } from '../../../src/models/lora/adapter.js';
import { mergeAndUnload, plainCheckpoint } from '../../../src/models/lora/merge.js';
import { loadLoraAdapter } from '../../../src/models/lora/peft-io.js';
import type { ConfigJson } from '../../../src/models/transformer/config.js';
import type { CausalLmModel } from '../../../src/models/transformer/types.js';
import { assertClose, fullForward, maxAbsDiff } from '../../helpers/causal-lm.js';
import { fixturePath } from '../../helpers/fixtures.js';
import { ADAPTER_DIR, gpt2Tiny, IDS, logitsOf, randomLlama, withTempDir } from './helpers.js';

describe('mergeAndUnload', () => {
  let base: CausalLmModel;
  let baseConfig: ConfigJson;
  let golden: Float32Array;
  before(async () => {
    ({ model: base, config: baseConfig } = await gpt2Tiny());
    golden = (await loadF32(fixturePath('gpt2-tiny-lora', 'golden.safetensors'))).get('logits_with_adapter')!.data;
  });

  // The same 1e-4 as unmerged: in PyTorch merging changes the logits by at most 1.4e-5 (fixture
  // README); here float32 W + s·BA and a different summation order add the same kind of error (measured: 3.3e-5).
  test('the merged model gives logits_with_adapter within 1e-4, with no adapter term left', async () => {
    const lora = await loadLoraAdapter(ADAPTER_DIR, base);
    const merged = mergeAndUnload(lora);
    assert.ok(merged instanceof Gpt2, 'a plain GPT-2');
    const logits = await logitsOf(merged);
    assertClose(logits, golden, 1e-4, 'merged logits');
    assertClose(logits, await logitsOf(lora), 1e-4, 'merged vs unmerged');
    const name = 'transformer.h.0.attn.c_attn.weight';
    assert.ok(maxAbsDiff(merged.weights.get(name)!.value, base.weights.get(name)!.value) > 0.1, 'the update is in the weights');
  });

  test('untargeted weights stay the base\'s Variables; targeted ones are new and the base keeps its values', async () => {
    const lora = await loadLoraAdapter(ADAPTER_DIR, base);
    const before = base.weights.get('transformer.h.0.attn.c_attn.weight')!.value.slice();
    const merged = mergeAndUnload(lora);
    assert.equal(merged.weights.get('transformer.h.0.mlp.c_fc.weight'), base.weights.get('transformer.h.0.mlp.c_fc.weight'));
    assert.notEqual(merged.weights.get('transformer.h.0.attn.c_attn.weight'), base.weights.get('transformer.h.0.attn.c_attn.weight'));
    assert.deepEqual(base.weights.get('transformer.h.0.attn.c_attn.weight')!.value, before);
  });

  test('the merged checkpoint is a plain HF directory that CausalLM.load (forja generate) reads', async () => {
    const merged = mergeAndUnload(await loadLoraAdapter(ADAPTER_DIR, base));
    await withTempDir(async (dir) => {
      const out = join(dir, 'merged');
      const { config, weights } = plainCheckpoint(merged, baseConfig);
      await saveHfCheckpoint(out, { config, weights });
      const lm = await CausalLM.load(out);
      try {
        assertClose((await fullForward(lm, IDS)).logits, golden, 1e-4, 'reloaded merged checkpoint');
      } finally {
        await lm.release();
      }
    });
  });

  test("Llama's nn.Linear layout merges to the unmerged function, and its checkpoint keeps [out, in]", async () => {
    const llama = randomLlama();
    const lora = createLora(llama, { r: 3, target_modules: 'all-linear', init_lora_weights: false }, { seed: 4 });
    const merged = mergeAndUnload(lora);
    const ids = [1, 7, 9, 200];
    assertClose(await logitsOf(merged, ids), await logitsOf(lora, ids), 1e-4, 'merged vs unmerged');
    const { weights } = plainCheckpoint(merged, {});
    assert.deepEqual(weights.get('model.layers.0.mlp.down_proj.weight')!.shape, [32, 96]);
  });

  test("Qwen2's biased q/k/v projections keep their biases under the adapter and after merging", async () => {
    const json = { ...llamaConfigJson({ layers: 2, heads: 4, embd: 32, blockSize: 32, dropout: 0 }, 300), architectures: ['Qwen2ForCausalLM'], model_type: 'qwen2' };
    const qwen = Llama.init(parseLlamaConfig(json, 'Qwen2ForCausalLM'), new Rng(3));
    for (const [name, v] of qwen.weights) if (name.endsWith('.bias')) v.value.fill(0.05);
    const lora = createLora(qwen, { r: 2, init_lora_weights: false }, { seed: 1 });
    assert.deepEqual([...lora.layers.keys()].slice(0, 2), ['model.layers.0.self_attn.q_proj', 'model.layers.0.self_attn.v_proj']);
    const ids = [3, 1, 4, 1, 5];
    const merged = mergeAndUnload(lora);
    assertClose(await logitsOf(merged, ids), await logitsOf(lora, ids), 1e-4, 'merged vs unmerged');
    assert.equal(merged.weights.get('model.layers.0.self_attn.q_proj.bias'), qwen.weights.get('model.layers.0.self_attn.q_proj.bias'));
    assert.ok(maxAbsDiff(await logitsOf(lora, ids), await logitsOf(qwen, ids)) > 1e-3);
  });

  test('an adapter on a tied head unties it when merged, so the embedding keeps its values', async () => {
    const lora = createLora(base, { r: 2, target_modules: ['lm_head'], init_lora_weights: false }, { seed: 6 });
    const merged = mergeAndUnload(lora) as Gpt2;
    assert.equal(merged.config.tieWordEmbeddings, false);
    assert.equal(merged.weights.get('transformer.wte.weight'), base.weights.get('transformer.wte.weight'));
    assertClose(await logitsOf(merged, [5, 6]), await logitsOf(lora, [5, 6]), 1e-4, 'merged head');
  });

  test('added tokens: the merged checkpoint has the new vocabulary size and loads', async () => {
    const lora = createLora(base, { r: 2, init_lora_weights: false }, { vocabSize: 50259, seed: 1 });
    const merged = mergeAndUnload(lora);
    assert.equal(merged.weights.get('transformer.wte.weight')!.name, 'transformer.wte.weight', 'plain checkpoint names, not PEFT\'s');
    await withTempDir(async (dir) => {
      const { config, weights } = plainCheckpoint(merged, baseConfig);
      assert.equal(config.vocab_size, 50259);
      await saveHfCheckpoint(dir, { config, weights });
      const lm = await CausalLM.load(dir);
      try {
        assert.equal(lm.vocabSize, 50259);
        assertClose((await fullForward(lm, [50258, 11])).logits, await logitsOf(lora, [50258, 11]), 1e-4, 'resized merged checkpoint');
      } finally {
        await lm.release();
      }
    });
  });
});
