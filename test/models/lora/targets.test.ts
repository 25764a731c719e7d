import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { loraConfig, type LoraOptions } from '../../../src/models/lora/config.js';
import { LoraTargetError } from '../../../src/models/lora/errors.js';
import { linearModules, loraArchitecture, matchesModuleToSave, moduleNames, resolveTargets } from '../../../src/models/lora/targets.js';
import type { CausalLmModel } from '../../../src/models/transformer/types.js';
import { gpt2Tiny, randomLlama } from './helpers.js';

const targetsOf = (model: CausalLmModel, options: LoraOptions) => resolveTargets(loraConfig(options), model).targets.map((m) => m.name);

describe('LoRA targets', () => {
  let gpt2: CausalLmModel;
  const llama = randomLlama();
  before(async () => {
    gpt2 = (await gpt2Tiny()).model;
  });

  test("default targets are PEFT's: c_attn for GPT-2, q_proj and v_proj for Llama", () => {
    assert.deepEqual(targetsOf(gpt2, {}), ['transformer.h.0.attn.c_attn', 'transformer.h.1.attn.c_attn']);
    assert.deepEqual(targetsOf(llama, {}), ['model.layers.0.self_attn.q_proj', 'model.layers.0.self_attn.v_proj', 'model.layers.1.self_attn.q_proj', 'model.layers.1.self_attn.v_proj']);
    // The resolved config names them, as PEFT writes them.
    assert.deepEqual(resolveTargets(loraConfig(), gpt2).config.target_modules, ['c_attn']);
  });

  test('a list matches names and "."-suffixes: c_proj is both the attention and the MLP projection', () => {
    assert.deepEqual(targetsOf(gpt2, { target_modules: ['c_proj'] }), ['transformer.h.0.attn.c_proj', 'transformer.h.0.mlp.c_proj', 'transformer.h.1.attn.c_proj', 'transformer.h.1.mlp.c_proj']);
    assert.deepEqual(targetsOf(gpt2, { target_modules: ['mlp.c_proj', 'transformer.h.0.attn.c_attn'] }), ['transformer.h.0.attn.c_attn', 'transformer.h.0.mlp.c_proj', 'transformer.h.1.mlp.c_proj']);
  });

  test('a string is a regex over the whole module name', () => {
    assert.deepEqual(targetsOf(gpt2, { target_modules: '.*\\.0\\.(attn|mlp)\\.c_proj' }), ['transformer.h.0.attn.c_proj', 'transformer.h.0.mlp.c_proj']);
    assert.throws(() => targetsOf(gpt2, { target_modules: 'c_attn' }), LoraTargetError);
  });

  test('"all-linear" is every linear map but the output head, written out as names', () => {
    const gpt2All = targetsOf(gpt2, { target_modules: 'all-linear' });
    assert.deepEqual(gpt2All.filter((n) => n.includes('h.0.')), ['transformer.h.0.attn.c_attn', 'transformer.h.0.attn.c_proj', 'transformer.h.0.mlp.c_fc', 'transformer.h.0.mlp.c_proj']);
    assert.equal(gpt2All.length, 8);
    const llamaAll = targetsOf(llama, { target_modules: 'all-linear' });
    assert.equal(llamaAll.length, 14);
    assert.ok(!llamaAll.includes('lm_head') && !gpt2All.includes('lm_head'));
    assert.deepEqual(resolveTargets(loraConfig({ target_modules: 'all-linear' }), gpt2).config.target_modules, gpt2All);
  });

  test('the head can be named explicitly (tied or not); exclude_modules and modules_to_save are never adapted', () => {
    assert.deepEqual(targetsOf(gpt2, { target_modules: ['lm_head'] }), ['lm_head']);
    assert.deepEqual(targetsOf(llama, { target_modules: ['lm_head'] }), ['lm_head']);
    assert.deepEqual(targetsOf(gpt2, { target_modules: ['c_attn'], exclude_modules: ['transformer.h.1.attn.c_attn'] }), ['transformer.h.0.attn.c_attn']);
    assert.deepEqual(targetsOf(gpt2, { target_modules: 'all-linear', modules_to_save: ['mlp.c_fc'] }).filter((n) => n.includes('c_fc')), []);
  });

  test('linear maps have their sizes from the weights (GPT-2 Conv1D and Llama nn.Linear alike)', () => {
    const byName = new Map(linearModules(gpt2).map((m) => [m.name, m]));
    assert.deepEqual(byName.get('transformer.h.0.attn.c_attn'), { name: 'transformer.h.0.attn.c_attn', inFeatures: 48, outFeatures: 144 });
    assert.deepEqual(byName.get('transformer.h.0.mlp.c_proj'), { name: 'transformer.h.0.mlp.c_proj', inFeatures: 192, outFeatures: 48 });
    assert.deepEqual(byName.get('lm_head'), { name: 'lm_head', inFeatures: 48, outFeatures: 50257 });
    const llamaSizes = new Map(linearModules(llama).map((m) => [m.name, m]));
    // 2 KV heads of 8: k_proj maps 32 → 16.
    assert.deepEqual(llamaSizes.get('model.layers.0.self_attn.k_proj'), { name: 'model.layers.0.self_attn.k_proj', inFeatures: 32, outFeatures: 16 });
    assert.ok(!llamaSizes.has('model.embed_tokens'));
  });

  test('fan_in_fan_out follows the architecture, as PEFT corrects it: true for Conv1D, false for nn.Linear', () => {
    assert.equal(resolveTargets(loraConfig({ fan_in_fan_out: false }), gpt2).config.fan_in_fan_out, true);
    assert.equal(resolveTargets(loraConfig({ fan_in_fan_out: true }), llama).config.fan_in_fan_out, false);
  });

  test('targets that match nothing are refused naming the patterns and some of the base\'s linear maps', () => {
    assert.throws(
      () => targetsOf(gpt2, { target_modules: ['q_proj', 'v_proj'] }),
      (err: unknown) =>
        err instanceof LoraTargetError &&
        err.key === 'target_modules' &&
        /target_modules \["q_proj","v_proj"\] match no module of this GPT2LMHeadModel; its linear maps are transformer\.h\.0\.attn\.c_attn, transformer\.h\.0\.attn\.c_proj, /.test(err.message) &&
        err.modules.includes('transformer.h.1.mlp.c_fc'),
    );
    assert.throws(() => targetsOf(llama, { target_modules: ['c_attn'] }), /match no module of this LlamaForCausalLM; its linear maps are model\.layers\.0\.self_attn\.q_proj/);
  });

  test('targets that match a module LoRA cannot adapt, or modules_to_save that match nothing, are refused', () => {
    assert.throws(() => targetsOf(gpt2, { target_modules: ['c_attn', 'ln_1'] }), /match transformer\.h\.0\.ln_1, transformer\.h\.1\.ln_1, which are not linear maps/);
    assert.throws(() => targetsOf(gpt2, { target_modules: ['wte'] }), /transformer\.wte, which is not a linear map/);
    assert.throws(
      () => targetsOf(gpt2, { modules_to_save: ['embed_tokens'] }),
      (err: unknown) => err instanceof LoraTargetError && err.key === 'modules_to_save' && /modules_to_save "embed_tokens" matches no module of this GPT2LMHeadModel; its modules are transformer\.wte, /.test(err.message),
    );
  });

  test("modules_to_save match as PEFT's: a plain suffix of the module or of a parent", () => {
    assert.ok(matchesModuleToSave(['wte'], 'transformer.wte'));
    assert.ok(matchesModuleToSave(['h.0'], 'transformer.h.0.attn.c_attn'));
    assert.ok(!matchesModuleToSave(['h.0'], 'transformer.h.1.attn.c_attn'));
    assert.deepEqual(resolveTargets(loraConfig({ modules_to_save: ['wte', 'lm_head'] }), gpt2).saved, ['transformer.wte', 'lm_head']);
    assert.ok(moduleNames(loraArchitecture(gpt2)).includes('lm_head'), 'a tied model still has an lm_head module, as in HF');
  });
});
