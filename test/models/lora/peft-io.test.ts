import assert from 'node:assert/strict';
import { copyFileSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { loadF32, readSafetensorsHeader, writeSafetensors } from '../../../src/io/safetensors.js';
import { createLora } from '../../../src/models/lora/adapter.js';
import { parseLoraConfig } from '../../../src/models/lora/config.js';
import { LoraError, LoraMismatchError, LoraTargetError } from '../../../src/models/lora/errors.js';
import { ADAPTER_CONFIG_FILE, ADAPTER_WEIGHTS_FILE, loadLoraAdapter, loraFromTensors, saveLoraAdapter } from '../../../src/models/lora/peft-io.js';
import type { CausalLmModel } from '../../../src/models/transformer/types.js';
import { ADAPTER_DIR, gpt2Tiny, logitsOf, randomGpt2, randomLlama, withTempDir } from './helpers.js';

const fixtureConfig = () => JSON.parse(readFileSync(join(ADAPTER_DIR, ADAPTER_CONFIG_FILE), 'utf8')) as Record<string, unknown>;

describe('PEFT adapter files', () => {
  let base: CausalLmModel;
  before(async () => {
    base = (await gpt2Tiny()).model;
  });

  test("a saved adapter reloads with identical logits, under the file names, config keys and tensor names PEFT writes", async () => {
    await withTempDir(async (dir) => {
      const lora = await loadLoraAdapter(ADAPTER_DIR, base);
      assert.deepEqual(await saveLoraAdapter(dir, lora), [join(dir, ADAPTER_CONFIG_FILE), join(dir, ADAPTER_WEIGHTS_FILE)]);
      assert.deepEqual(readdirSync(dir).sort(), [ADAPTER_CONFIG_FILE, ADAPTER_WEIGHTS_FILE]);
      const written = JSON.parse(readFileSync(join(dir, ADAPTER_CONFIG_FILE), 'utf8')) as Record<string, unknown>;
      assert.deepEqual(Object.keys(written).sort(), Object.keys(fixtureConfig()).sort());
      const header = await readSafetensorsHeader(join(dir, ADAPTER_WEIGHTS_FILE));
      const fixtureHeader = await readSafetensorsHeader(join(ADAPTER_DIR, ADAPTER_WEIGHTS_FILE));
      assert.deepEqual([...header.tensors.keys()].sort(), [...fixtureHeader.tensors.keys()].sort());
      assert.deepEqual(header.metadata, { format: 'pt' });
      const [ours, theirs] = [await loadF32(join(dir, ADAPTER_WEIGHTS_FILE)), await loadF32(join(ADAPTER_DIR, ADAPTER_WEIGHTS_FILE))];
      for (const [name, t] of theirs) assert.deepEqual(ours.get(name), t, `${name} is written as read`);
      const reloaded = await loadLoraAdapter(dir, base);
      assert.deepEqual(await logitsOf(reloaded), await logitsOf(lora));
    });
  });

  test('an adapter Forja creates and trains round-trips too (Llama, all-linear, rsLoRA)', async () => {
    const llama = randomLlama();
    const lora = createLora(llama, { r: 2, lora_alpha: 4, use_rslora: true, target_modules: 'all-linear', init_lora_weights: false }, { seed: 9 });
    await withTempDir(async (dir) => {
      await saveLoraAdapter(dir, lora, { baseModelNameOrPath: 'my/llama' });
      const written = parseLoraConfig(JSON.parse(readFileSync(join(dir, ADAPTER_CONFIG_FILE), 'utf8')) as Record<string, unknown>, 'written');
      assert.equal(written.base_model_name_or_path, 'my/llama');
      assert.equal(written.inference_mode, true, 'saved for inference, as save_pretrained does');
      assert.equal((written.target_modules as string[]).length, 14);
      const reloaded = await loadLoraAdapter(dir, llama);
      assert.equal(reloaded.layers.get('model.layers.0.mlp.up_proj')!.scale, 4 / Math.sqrt(2));
      assert.deepEqual(await logitsOf(reloaded, [5, 6, 7]), await logitsOf(lora, [5, 6, 7]));
    });
  });

  test('an adapter for another architecture is refused naming its target_modules and the base\'s linear maps', async () => {
    const llamaAdapter = createLora(randomLlama(), { r: 2 });
    await withTempDir(async (dir) => {
      await saveLoraAdapter(dir, llamaAdapter);
      await assert.rejects(loadLoraAdapter(dir, base), (err: unknown) => err instanceof LoraTargetError && /target_modules \["q_proj","v_proj"\] match no module of this GPT2LMHeadModel; its linear maps are transformer\.h\.0\.attn\.c_attn/.test(err.message));
    });
  });

  test('an adapter for another hidden size is refused naming both shapes', async () => {
    const wide = createLora(randomGpt2(64, 2), { r: 4 });
    await withTempDir(async (dir) => {
      await saveLoraAdapter(dir, wide);
      await assert.rejects(
        loadLoraAdapter(dir, base),
        (err: unknown) =>
          err instanceof LoraMismatchError &&
          err.tensor === 'base_model.model.transformer.h.0.attn.c_attn.lora_A.weight' &&
          /has shape \[4, 64\], but module transformer\.h\.0\.attn\.c_attn of this GPT2LMHeadModel \(hidden size 48, vocabulary 50257\) needs \[4, 48\]/.test(err.message),
      );
    });
  });

  test('an adapter for a deeper model is refused naming the module the base lacks', async () => {
    const deep = createLora(randomGpt2(48, 3), { r: 4 });
    await withTempDir(async (dir) => {
      await saveLoraAdapter(dir, deep);
      await assert.rejects(loadLoraAdapter(dir, base), /tensor 'base_model\.model\.transformer\.h\.2\.attn\.c_attn\.lora_A\.weight' \[4, 48\] is not used: this GPT2LMHeadModel has no module transformer\.h\.2\.attn\.c_attn \(it has 2 layers/);
    });
  });

  test('a missing or unmatched tensor is refused naming it', async () => {
    const tensors = await loadF32(join(ADAPTER_DIR, ADAPTER_WEIGHTS_FILE));
    const config = parseLoraConfig(fixtureConfig(), 'cfg');
    const without = new Map(tensors);
    without.delete('base_model.model.transformer.h.1.mlp.c_proj.lora_B.weight');
    assert.throws(() => loraFromTensors(base, config, without, 'f'), /^LoraMismatchError: f: no tensor 'base_model\.model\.transformer\.h\.1\.mlp\.c_proj\.lora_B\.weight' \[48, 4\], though target_modules match transformer\.h\.1\.mlp\.c_proj/);
    const narrower = parseLoraConfig({ ...fixtureConfig(), target_modules: ['c_attn'] }, 'cfg');
    assert.throws(() => loraFromTensors(base, narrower, tensors, 'f'), /module transformer\.h\.0\.attn\.c_proj exists but target_modules \["c_attn"\] do not match it \(and 7 more unused tensors\)/);
  });

  test('a directory without adapter_config.json, or with only a pickled adapter, is refused saying so', async () => {
    await withTempDir(async (dir) => {
      await assert.rejects(loadLoraAdapter(dir, base), (err: unknown) => err instanceof LoraError && /no adapter_config\.json, so this is not a PEFT adapter directory/.test(err.message));
      copyFileSync(join(ADAPTER_DIR, ADAPTER_CONFIG_FILE), join(dir, ADAPTER_CONFIG_FILE));
      writeFileSync(join(dir, 'adapter_model.bin'), 'pickle');
      await assert.rejects(loadLoraAdapter(dir, base), /no adapter_model\.safetensors \(adapter_model\.bin is a pickle, which Forja does not read/);
    });
  });

  test('saving replaces an earlier adapter file by file, leaving no temp files', async () => {
    await withTempDir(async (dir) => {
      await saveLoraAdapter(dir, createLora(base, { r: 2 }));
      writeFileSync(join(dir, 'README.md'), 'kept');
      const lora = await loadLoraAdapter(ADAPTER_DIR, base);
      await saveLoraAdapter(dir, lora);
      assert.deepEqual(readdirSync(dir).sort(), ['README.md', ADAPTER_CONFIG_FILE, ADAPTER_WEIGHTS_FILE]);
      assert.equal((await loadLoraAdapter(dir, base)).config.r, 4);
    });
  });

  test('tensors PEFT wrote with a .default. segment are not PEFT files: refused as unused', async () => {
    await withTempDir(async (dir) => {
      const tensors = await loadF32(join(ADAPTER_DIR, ADAPTER_WEIGHTS_FILE));
      const renamed = new Map([...tensors].map(([k, t]) => [k.replace('.weight', '.default.weight'), t]));
      await writeSafetensors(join(dir, ADAPTER_WEIGHTS_FILE), renamed);
      copyFileSync(join(ADAPTER_DIR, ADAPTER_CONFIG_FILE), join(dir, ADAPTER_CONFIG_FILE));
      await assert.rejects(loadLoraAdapter(dir, base), /no tensor 'base_model\.model\.transformer\.h\.0\.attn\.c_attn\.lora_A\.weight'/);
    });
  });
});
