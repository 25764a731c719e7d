import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { TextDataset } from '../../../src/data/text.js';
import { readSafetensors, writeSafetensors } from '../../../src/io/safetensors.js';
import { CausalLM } from '../../../src/models/causal-lm.js';
import { CHECKPOINT_FILE, isLmRunDir, readLmRun, writeHfFiles } from '../../../src/models/lm/checkpoint.js';
import { fingerprint } from '../../../src/models/lm/data.js';
import { runLmTraining } from '../../../src/models/lm/run.js';
import { LM_DEFAULTS, type LmTrainSettings } from '../../../src/models/lm/settings.js';
import { initialModel, LmTask } from '../../../src/models/lm/task.js';
import { resolveTrainingTokenizer } from '../../../src/models/lm/tokenizers.js';
import { CharTokenizer } from '../../../src/text/tokenizer.js';
import { CheckpointError } from '../../../src/train/errors.js';
import { maxAbsDiff } from '../../helpers/causal-lm.js';
import { fixturePath } from '../../helpers/fixtures.js';

const TEXT = 'the quick brown fox jumps over the lazy dog.\n'.repeat(60);
const VOCAB = new Set(TEXT).size;
const TINY: LmTrainSettings = { ...LM_DEFAULTS, layers: 2, heads: 2, embd: 32, blockSize: 16, batchSize: 8, steps: 2, warmupSteps: 0, evalInterval: 2, evalBatches: 1, sampleTokens: 4 };

const scratch = await mkdtemp(join(tmpdir(), 'forja-lm-checkpoint-'));
after(() => rm(scratch, { recursive: true, force: true }));
const dirs = { gpt2: join(scratch, 'gpt2'), llama: join(scratch, 'llama') };

const readJson = async (path: string) => JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;

describe('the run directory', () => {
  before(async () => {
    for (const architecture of ['gpt2', 'llama'] as const) await runLmTraining({ text: TEXT, settings: { ...TINY, architecture }, outDir: dirs[architecture] });
  });

  test('gpt2: tensor names, shapes and config keys follow transformers GPT2LMHeadModel', async () => {
    // gpt2-tiny was written by transformers itself: 2 layers, tied embeddings, n_embd 48.
    const reference = await readSafetensors(fixturePath('gpt2-tiny', 'model.safetensors'));
    const ours = await readSafetensors(join(dirs.gpt2, 'model.safetensors'));
    assert.deepEqual([...ours.keys()].sort(), [...reference.keys()].filter((k) => !/\.attn\.(masked_)?bias$/.test(k)).sort());
    for (const [name, t] of ours) {
      if (/wte|wpe/.test(name)) continue;
      // The reference is 48 wide, ours 32: every other dimension is a multiple of the width. Conv1D stays [in, out].
      assert.deepEqual(t.shape, reference.get(name)!.shape.map((d) => (d / 48) * 32), name);
      assert.equal(t.dtype, 'F32');
    }
    assert.deepEqual(ours.get('transformer.wte.weight')!.shape, [VOCAB, 32]);
    assert.deepEqual(ours.get('transformer.wpe.weight')!.shape, [16, 32]);
    const config = await readJson(join(dirs.gpt2, 'config.json'));
    const referenceConfig = await readJson(fixturePath('gpt2-tiny', 'config.json'));
    for (const key of ['model_type', 'architectures', 'activation_function', 'tie_word_embeddings', 'layer_norm_epsilon', 'scale_attn_weights', 'n_inner']) {
      assert.deepEqual(config[key], referenceConfig[key], key);
    }
    assert.deepEqual(
      [config.vocab_size, config.n_positions, config.n_embd, config.n_layer, config.n_head, config.bos_token_id, config.eos_token_id],
      [VOCAB, 16, 32, 2, 2, null, null],
    );
  });

  test('llama: tensor names and layouts follow transformers LlamaForCausalLM', async () => {
    // llama-tiny (transformers 5): 2 layers, 48 wide, 4 heads of 12, 2 kv heads, intermediate 96, tied.
    const reference = await readSafetensors(fixturePath('llama-tiny', 'model.safetensors'));
    const ours = await readSafetensors(join(dirs.llama, 'model.safetensors'));
    assert.deepEqual([...ours.keys()].sort(), [...reference.keys()].sort());
    const config = await readJson(join(dirs.llama, 'config.json'));
    const referenceConfig = await readJson(fixturePath('llama-tiny', 'config.json'));
    for (const key of ['model_type', 'architectures', 'hidden_act', 'tie_word_embeddings', 'attention_bias', 'mlp_bias', 'pretraining_tp']) {
      assert.deepEqual(config[key], referenceConfig[key], key);
    }
    const inter = config.intermediate_size as number;
    assert.equal(inter, 96); // 8/3 · 32 = 85.3, rounded up to a multiple of 32
    // nn.Linear weights are [out, in] on disk.
    assert.deepEqual(ours.get('model.layers.0.mlp.gate_proj.weight')!.shape, [inter, 32]);
    assert.deepEqual(ours.get('model.layers.0.mlp.down_proj.weight')!.shape, [32, inter]);
    assert.deepEqual(ours.get('model.layers.0.self_attn.q_proj.weight')!.shape, [32, 32]);
    assert.deepEqual(ours.get('model.embed_tokens.weight')!.shape, [VOCAB, 32]);
  });

  test('tokenizer.json loads in @huggingface/tokenizers and round-trips the text', async () => {
    const hf = new HfTokenizer(await readJson(join(dirs.gpt2, 'tokenizer.json')), await readJson(join(dirs.gpt2, 'tokenizer_config.json')));
    const sample = 'the lazy fox.\nover the dog';
    const ids = hf.encode(sample).ids as number[];
    assert.deepEqual(ids, CharTokenizer.fromText(TEXT).encode(sample));
    assert.equal(hf.decode(ids), sample);
  });

  test('checkpoint.safetensors holds the weights, both AdamW moments, the position, history and settings', async () => {
    const run = await readLmRun(dirs.llama);
    assert.ok(run);
    assert.equal(run.format, 'checkpoint');
    assert.deepEqual(run.position, { epoch: 1, step: 0, globalStep: 2 });
    assert.deepEqual(run.meta.settings, { ...TINY, architecture: 'llama' });
    assert.equal(run.meta.tokenizer, 'char');
    assert.equal(run.meta.data.sha256, fingerprint(TEXT).sha256);
    assert.deepEqual(run.history.map((r) => Object.keys(r).sort()), [['epoch', 'loss', 'lr', 'train_loss', 'val_loss']]);
    const tensors = await readSafetensors(join(dirs.llama, CHECKPOINT_FILE));
    const weights = await readSafetensors(join(dirs.llama, 'model.safetensors'));
    assert.equal(tensors.size, 3 * weights.size);
    // Forja keeps linear weights [in, out]: the checkpoint stores its own variables.
    assert.deepEqual(tensors.get('model.layers.0.mlp.down_proj.weight')!.shape, [96, 32]);
    assert.deepEqual(tensors.get('AdamW/model.layers.0.mlp.down_proj.weight/v')!.shape, [96, 32]);
  });

  test('isLmRunDir: a run, and not an empty or foreign directory; a foreign checkpoint is named', async () => {
    assert.equal(await isLmRunDir(dirs.gpt2), true);
    const other = join(scratch, 'other');
    await mkdir(other, { recursive: true });
    assert.equal(await isLmRunDir(other), false);
    await writeFile(join(other, 'vocab.json'), '{}');
    assert.equal(await readLmRun(other), undefined);
    await writeSafetensors(join(other, CHECKPOINT_FILE), new Map(), { format: 'forja-checkpoint', version: '1', run: JSON.stringify({ position: { epoch: 0, step: 0, globalStep: 0 }, history: [], epochSums: { sums: {}, weight: 0 }, optimizers: {}, rngs: {}, meta: { kind: 'mnist' } }) });
    await assert.rejects(readLmRun(other), (err: Error) => err instanceof CheckpointError && /not a language-model training checkpoint \(its run kind is "mnist"\)/.test(err.message));
    assert.equal(await isLmRunDir(other), false);
  });
});

describe('writeHfFiles', () => {
  for (const architecture of ['gpt2', 'llama'] as const) {
    test(`${architecture}: the saved directory reloads through the HF loader with the trained model's logits`, async () => {
      const settings = { ...TINY, architecture, steps: 5 };
      const tokenizer = await resolveTrainingTokenizer('char', TEXT);
      const dataset = TextDataset.fromText(TEXT, tokenizer.tokenizer);
      const task = await LmTask.create({ settings, ...initialModel(settings, tokenizer), dataset, tokenizer, data: fingerprint(TEXT) });
      const dir = join(scratch, `reload-${architecture}`);
      try {
        for (let i = 0; i < 5; i++) await task.trainStep({ epoch: 0, step: i, globalStep: i });
        await writeHfFiles(dir, task);
        const batch = dataset.batch('val', 0, settings);
        const expected = await task.logits(batch.inputs);
        const lm = await CausalLM.load(dir);
        try {
          assert.equal(lm.model.architecture, architecture === 'gpt2' ? 'GPT2LMHeadModel' : 'LlamaForCausalLM');
          const { batchSize: b, blockSize: t } = settings;
          const positions = BigInt64Array.from({ length: b * t }, (_, i) => BigInt(i % t));
          const out = await lm.forward({ ids: batch.inputs, batch: b, attentionMask: new BigInt64Array(b * t).fill(1n), positionIds: positions, allLogits: true });
          assert.equal(out.logits.length, expected.length);
          const worst = maxAbsDiff(out.logits, expected);
          assert.ok(worst < 1e-6, `max |logit difference| ${worst}`);
        } finally {
          await lm.release();
        }
      } finally {
        await task.release();
      }
    });
  }
});
