import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, describe, test } from 'node:test';
import { loadHfCheckpoint } from '../../../src/io/hf-checkpoint.js';
import { FinetuneSettingsError, OutputIsBaseModelError } from '../../../src/models/finetune/errors.js';
import { checkFreshDir, checkNotBase, copyTokenizerFiles, readFinetuneRun, writeFullModel } from '../../../src/models/finetune/save.js';
import { loadCausalLmModel } from '../../../src/models/registry.js';
import { CausalLM } from '../../../src/models/causal-lm.js';
import { writeCheckpoint } from '../../../src/train/checkpoint.js';
import { CheckpointError } from '../../../src/train/errors.js';
import { fixturePath } from '../../helpers/fixtures.js';
import { logitsOf } from '../lora/helpers.js';
import { GPT2_TINY } from './helpers.js';

const root = mkdtempSync(join(tmpdir(), 'forja-finetune-save-'));
after(() => rmSync(root, { recursive: true, force: true }));

describe('checkNotBase', () => {
  test('the base directory is refused however it is written: relative, with a trailing slash, through a symlink, or a directory holding it', () => {
    const link = join(root, 'base-link');
    symlinkSync(GPT2_TINY, link);
    for (const out of [GPT2_TINY, `${GPT2_TINY}/`, relative(process.cwd(), GPT2_TINY), link, join(GPT2_TINY, '..')]) {
      assert.throws(() => checkNotBase(out, GPT2_TINY), (err: unknown) => err instanceof OutputIsBaseModelError && err.outputDir === out && err.baseDir === GPT2_TINY, out);
    }
    assert.doesNotThrow(() => checkNotBase(join(root, 'out'), GPT2_TINY));
    assert.doesNotThrow(() => checkNotBase(join(GPT2_TINY, 'inside'), GPT2_TINY), 'a directory inside the base replaces nothing of it');
    assert.throws(() => checkNotBase('', GPT2_TINY), (err: unknown) => err instanceof FinetuneSettingsError && err.setting === 'output_dir');
  });
});

describe('checkFreshDir and readFinetuneRun', () => {
  test('a fresh run starts only in a missing or empty directory, or one it may overwrite; another kind of checkpoint is not a fine-tuning run', async () => {
    const busy = join(root, 'busy');
    mkdirSync(busy);
    writeFileSync(join(busy, 'notes.txt'), 'mine');
    await checkFreshDir(join(root, 'missing'), false);
    await assert.rejects(checkFreshDir(busy, false), (err: unknown) => err instanceof FinetuneSettingsError && /is not empty and holds no fine-tuning run: choose another \{?output_dir/.test(err.message) && /overwrite_output_dir/.test(err.template));
    await checkFreshDir(busy, true);
    await assert.rejects(checkFreshDir(join(busy, 'notes.txt'), false), /is a file, not a directory/);
    await writeCheckpoint(join(busy, 'checkpoint.safetensors'), { state: { variables: new Map(), optimizers: {} }, position: { epoch: 0, step: 0, globalStep: 0 }, history: [], epochSums: { sums: {}, weight: 0 }, meta: { kind: 'forja-lm' } });
    await assert.rejects(readFinetuneRun(busy), (err: unknown) => err instanceof CheckpointError && /not a fine-tuning checkpoint \(its run kind is "forja-lm"\)/.test(err.message));
    assert.equal(await readFinetuneRun(join(root, 'missing')), undefined);
  });
});

describe('writeFullModel', () => {
  test('a BF16 Llama base saves as float32 under its checkpoint names, with its tokenizer files, and reloads to the same logits', async () => {
    const baseDir = fixturePath('llama-tiny');
    const ckpt = await loadHfCheckpoint(baseDir);
    const model = loadCausalLmModel(ckpt.config, ckpt.weights);
    const dir = join(root, 'llama');
    await writeFullModel(dir, { dir: baseDir, config: ckpt.config, generationConfig: ckpt.generationConfig }, model);
    const copied = await copyTokenizerFiles(baseDir, dir);
    assert.ok(copied.includes('tokenizer.json'));
    for (const name of copied) assert.deepEqual(readFileSync(join(dir, name)), readFileSync(join(baseDir, name)), name);
    const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
    assert.equal(config.dtype, 'float32');
    assert.deepEqual({ ...config, dtype: ckpt.config.dtype }, ckpt.config, 'otherwise the base config');
    assert.ok(readdirSync(dir).includes('generation_config.json'));
    const reloaded = await CausalLM.load(dir);
    try {
      assert.deepEqual(await logitsOf(reloaded.model, [1, 2, 3]), await logitsOf(model, [1, 2, 3]));
    } finally {
      await reloaded.release();
    }
  });
});
