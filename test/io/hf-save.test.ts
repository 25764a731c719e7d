import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadHfCheckpoint } from '../../src/io/hf-checkpoint.js';
import { recoverInterruptedSave, replaceDirAtomic, saveHfCheckpoint } from '../../src/io/hf-save.js';
import { readSafetensorsHeader } from '../../src/io/safetensors.js';

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'forja-hf-save-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const config = { model_type: 'gpt2', architectures: ['GPT2LMHeadModel'], n_embd: 2 };
const wte = { shape: [3, 2], data: Float32Array.from([1, 2, 3, 4, 5, 6]) };

describe('saveHfCheckpoint', () => {
  test('round trip through the checkpoint loader', async () => {
    await withTempDir(async (root) => {
      const dir = join(root, 'ckpt');
      const files = await saveHfCheckpoint(dir, {
        config,
        weights: { 'transformer.wte.weight': wte, 'transformer.ln_f.bias': { shape: [2], data: Float32Array.from([-1, 0.5]) } },
        generationConfig: { bos_token_id: 0, eos_token_id: 0 },
        files: { 'tokenizer.json': { model: { type: 'WordLevel' } }, 'notes.txt': 'hello\n', 'raw.bin': Uint8Array.of(1, 2, 3) },
      });
      assert.deepEqual(files, ['config.json', 'generation_config.json', 'model.safetensors', 'notes.txt', 'raw.bin', 'tokenizer.json']);
      const loaded = await loadHfCheckpoint(dir);
      assert.deepEqual(loaded.config, config);
      assert.deepEqual(loaded.generationConfig, { bos_token_id: 0, eos_token_id: 0 });
      assert.deepEqual(loaded.weights.get('transformer.wte.weight'), { shape: [3, 2], data: wte.data });
      assert.deepEqual([...loaded.weights.get('transformer.ln_f.bias')!.data], [-1, 0.5]);
      assert.equal(loaded.dtypes.get('transformer.wte.weight'), 'F32');
      // transformers refuses safetensors files without format metadata
      assert.deepEqual((await readSafetensorsHeader(join(dir, 'model.safetensors'))).metadata, { format: 'pt' });
      assert.equal(await readFile(join(dir, 'notes.txt'), 'utf8'), 'hello\n');
      assert.deepEqual([...(await readFile(join(dir, 'raw.bin')))], [1, 2, 3]);
      assert.deepEqual(JSON.parse(await readFile(join(dir, 'tokenizer.json'), 'utf8')), { model: { type: 'WordLevel' } });
      assert.deepEqual(await readdir(root), ['ckpt'], 'no staging or previous directory is left behind');
    });
  });

  test('a second save replaces the whole directory', async () => {
    await withTempDir(async (root) => {
      const dir = join(root, 'ckpt');
      await saveHfCheckpoint(dir, { config, weights: { a: wte }, files: { 'old.txt': 'x' } });
      await saveHfCheckpoint(dir, { config: { ...config, n_embd: 3 }, weights: { b: wte } });
      const loaded = await loadHfCheckpoint(dir);
      assert.equal(loaded.config.n_embd, 3);
      assert.deepEqual([...loaded.weights.keys()], ['b']);
      assert.ok(!existsSync(join(dir, 'old.txt')));
    });
  });

  test('rejects configs transformers could not load and reserved or nested file names', async () => {
    await withTempDir(async (root) => {
      await assert.rejects(saveHfCheckpoint(join(root, 'a'), { config: { architectures: ['X'] }, weights: {} }), /needs a string "model_type"/);
      await assert.rejects(saveHfCheckpoint(join(root, 'a'), { config: { model_type: 'gpt2' }, weights: {} }), /needs an "architectures" list/);
      await assert.rejects(saveHfCheckpoint(join(root, 'a'), { config, weights: {}, files: { '../x': 'y' } }), /'\.\.\/x' must be a plain name/);
      await assert.rejects(saveHfCheckpoint(join(root, 'a'), { config, weights: {}, files: { 'config.json': 'y' } }), /'config\.json' is written from/);
      assert.ok(!existsSync(join(root, 'a')));
    });
  });

  test('refuses to replace a directory that is not a checkpoint', async () => {
    await withTempDir(async (root) => {
      await writeFile(join(root, 'precious.txt'), 'keep me');
      await assert.rejects(saveHfCheckpoint(root, { config, weights: { a: wte } }), /not empty and holds no config\.json/);
      assert.equal(await readFile(join(root, 'precious.txt'), 'utf8'), 'keep me');
    });
  });
});

describe('replaceDirAtomic', () => {
  test('a failing save leaves the previous checkpoint untouched', async () => {
    await withTempDir(async (root) => {
      const dir = join(root, 'ckpt');
      await saveHfCheckpoint(dir, { config, weights: { a: wte } });
      await assert.rejects(
        replaceDirAtomic(dir, async (staging) => {
          await writeFile(join(staging, 'config.json'), '{}');
          throw new Error('disk full');
        }),
        /disk full/,
      );
      assert.deepEqual((await loadHfCheckpoint(dir)).config, config);
      assert.deepEqual(await readdir(root), ['ckpt']);
    });
  });

  test('a save interrupted between the renames is undone', async () => {
    await withTempDir(async (root) => {
      const dir = join(root, 'ckpt');
      await mkdir(join(root, '.ckpt.previous'));
      await writeFile(join(root, '.ckpt.previous', 'config.json'), '{"step": 7}');
      assert.equal(await recoverInterruptedSave(dir), true);
      assert.equal(await readFile(join(dir, 'config.json'), 'utf8'), '{"step": 7}');
      assert.equal(await recoverInterruptedSave(dir), false);
    });
  });
});
