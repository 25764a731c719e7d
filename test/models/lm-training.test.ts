import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { loadF32, readSafetensors, writeSafetensors } from '../../src/io/safetensors.js';
import { CausalLM } from '../../src/models/causal-lm.js';
import {
  GPT_DEFAULTS,
  LmDivergedError,
  LmSettingsError,
  createLmTrainer,
  lmSchedule,
  readTrainerState,
  resolveTrainingTokenizer,
  runLmTraining,
  type LmTrainSettings,
} from '../../src/models/lm-training.js';
import { CharTokenizer } from '../../src/text/tokenizer.js';
import { fixturePath } from '../helpers/fixtures.js';

const TEXT = 'the quick brown fox jumps over the lazy dog.\n'.repeat(60);
const TINY: LmTrainSettings = {
  ...GPT_DEFAULTS,
  layers: 2,
  heads: 2,
  embd: 32,
  blockSize: 16,
  batchSize: 8,
  steps: 30,
  lr: 1e-2,
  warmupSteps: 3,
  evalInterval: 30,
  evalBatches: 2,
  sampleTokens: 8,
};

const scratch = await mkdtemp(join(tmpdir(), 'forja-lm-training-'));
after(() => rm(scratch, { recursive: true, force: true }));
const dirFor = (name: string): string => join(scratch, name);

describe('lmSchedule', () => {
  test('linear warmup to the peak, cosine decay to a tenth at the last step', () => {
    const s = { ...TINY, steps: 110, warmupSteps: 10, lr: 1 };
    const lr = lmSchedule(s);
    assert.ok(Math.abs(lr(0) - 1 / 11) < 1e-12);
    assert.ok(Math.abs(lr(10) - 1) < 1e-12);
    assert.ok(Math.abs(lr(60) - (0.1 + 0.9 * 0.5)) < 1e-12); // halfway through the decay
    assert.ok(Math.abs(lr(110) - 0.1) < 1e-12);
  });
});

describe('LmTrainer', () => {
  test('a tiny GPT starts at ln(vocab) and its loss falls over 30 steps', async () => {
    const tokenizer = await resolveTrainingTokenizer('char', TEXT);
    const trainer = await createLmTrainer(TEXT, tokenizer, TINY);
    try {
      const vocab = tokenizer.tokenizer.vocabSize;
      assert.equal(vocab, new Set(TEXT).size);
      const before = await trainer.evaluate();
      // Weights of std 0.02 give near-uniform predictions.
      assert.ok(Math.abs(before.trainLoss - Math.log(vocab)) < 0.05, `initial loss ${before.trainLoss} vs ln ${vocab} = ${Math.log(vocab)}`);
      const losses: number[] = [];
      for (let i = 0; i < 30; i++) losses.push((await trainer.trainStep()).loss);
      assert.equal(trainer.step, 30);
      const after = await trainer.evaluate();
      assert.ok(after.trainLoss < before.trainLoss - 1, `train loss ${before.trainLoss} -> ${after.trainLoss}`);
      assert.ok(after.valLoss < before.valLoss - 1, `val loss ${before.valLoss} -> ${after.valLoss}`);
      assert.ok(losses.slice(-5).reduce((a, b) => a + b) < losses.slice(0, 5).reduce((a, b) => a + b));
    } finally {
      await trainer.release();
    }
  });

  test('the saved checkpoint reloads through the HF loader with the trained logits', async () => {
    const tokenizer = await resolveTrainingTokenizer('char', TEXT);
    const trainer = await createLmTrainer(TEXT, tokenizer, { ...TINY, steps: 5, warmupSteps: 1 });
    const dir = dirFor('roundtrip');
    try {
      for (let i = 0; i < 5; i++) await trainer.trainStep();
      await trainer.save(dir);
      const batch = trainer.dataset.batch('val', 0, TINY);
      const expected = await trainer.logits(batch.inputs);
      const lm = await CausalLM.load(dir);
      try {
        const { batchSize: b, blockSize: t } = TINY;
        const positions = BigInt64Array.from({ length: b * t }, (_, i) => BigInt(i % t));
        const out = await lm.forward({ ids: batch.inputs, batch: b, attentionMask: new BigInt64Array(b * t).fill(1n), positionIds: positions, allLogits: true });
        assert.equal(out.logits.length, expected.length);
        let worst = 0;
        for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(out.logits[i]! - expected[i]!));
        assert.ok(worst < 1e-4, `max |logit difference| ${worst}`);
      } finally {
        await lm.release();
      }
    } finally {
      await trainer.release();
    }
  });
});

describe('checkpoint format', () => {
  const dir = dirFor('format');

  test('tensor names, shapes and config keys follow transformers GPT2LMHeadModel', async () => {
    const result = await runLmTraining({ text: TEXT, settings: { ...TINY, steps: 2, warmupSteps: 0, evalInterval: 2 }, outDir: dir });
    assert.equal(result.steps, 2);
    // gpt2-tiny was written by transformers itself: 2 layers, tied embeddings, n_embd 48.
    const reference = await readSafetensors(fixturePath('gpt2-tiny', 'model.safetensors'));
    const ours = await readSafetensors(join(dir, 'model.safetensors'));
    assert.deepEqual([...ours.keys()].sort(), [...reference.keys()].filter((k) => !/\.attn\.(masked_)?bias$/.test(k)).sort());
    for (const [name, t] of ours) {
      if (/wte|wpe/.test(name)) continue;
      // The reference is 48 wide, ours 32: every other dimension is a multiple of the width. Conv1D stays [in, out].
      assert.deepEqual(t.shape, reference.get(name)!.shape.map((d) => (d / 48) * 32), name);
      assert.equal(t.dtype, 'F32');
    }
    const vocab = new Set(TEXT).size;
    assert.deepEqual(ours.get('transformer.wte.weight')!.shape, [vocab, 32]);
    assert.deepEqual(ours.get('transformer.wpe.weight')!.shape, [16, 32]);

    const config = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
    const referenceConfig = JSON.parse(await readFile(fixturePath('gpt2-tiny', 'config.json'), 'utf8')) as Record<string, unknown>;
    for (const key of ['model_type', 'architectures', 'activation_function', 'tie_word_embeddings', 'layer_norm_epsilon', 'scale_attn_weights', 'n_inner']) {
      assert.deepEqual(config[key], referenceConfig[key], key);
    }
    assert.deepEqual(
      [config.vocab_size, config.n_positions, config.n_embd, config.n_layer, config.n_head, config.bos_token_id, config.eos_token_id],
      [vocab, 16, 32, 2, 2, null, null],
    );
  });

  test('tokenizer.json loads in @huggingface/tokenizers and round-trips the text', async () => {
    const json = JSON.parse(await readFile(join(dir, 'tokenizer.json'), 'utf8')) as object;
    const config = JSON.parse(await readFile(join(dir, 'tokenizer_config.json'), 'utf8')) as object;
    const hf = new HfTokenizer(json, config);
    const sample = 'the lazy fox.\nover the dog';
    const ids = hf.encode(sample).ids as number[];
    assert.deepEqual(ids, CharTokenizer.fromText(TEXT).encode(sample));
    assert.equal(hf.decode(ids), sample);
  });

  test('trainer_state.json and optimizer.safetensors hold what resume needs', async () => {
    const state = await readTrainerState(dir);
    assert.equal(state.step, 2);
    assert.equal(state.settings.embd, 32);
    assert.equal(state.tokenizer, 'char');
    assert.equal(state.history.length, 1);
    const moments = await loadF32(join(dir, 'optimizer.safetensors'));
    assert.ok(moments.has('AdamW/transformer.h.0.attn.c_attn.weight/m'));
    assert.equal(moments.size, 2 * (await readSafetensors(join(dir, 'model.safetensors'))).size);
  });
});

describe('resume', () => {
  const settings = { ...TINY, steps: 6, warmupSteps: 2, evalInterval: 3 };

  test('an interrupted run resumed from its checkpoint ends exactly where an uninterrupted one does', async () => {
    const straight = await runLmTraining({ text: TEXT, settings, outDir: dirFor('straight') });
    const stop = new AbortController();
    const first = await runLmTraining({
      text: TEXT,
      settings,
      outDir: dirFor('resumed'),
      signal: stop.signal,
      hooks: { step: (step) => step === 3 && stop.abort() },
    });
    assert.deepEqual([first.steps, first.interrupted], [3, true]);
    const resumed = await runLmTraining({ text: TEXT, outDir: dirFor('resumed'), resume: true });
    assert.deepEqual([resumed.steps, resumed.interrupted], [6, false]);
    assert.equal(resumed.val_loss, straight.val_loss);
    for (const file of ['model.safetensors', 'optimizer.safetensors']) {
      const a = await readFile(join(dirFor('straight'), file));
      const b = await readFile(join(dirFor('resumed'), file));
      assert.ok(a.equals(b), `${file} differs between the straight and the resumed run`);
    }
    const state = await readTrainerState(dirFor('resumed'));
    assert.deepEqual(state.history.map((h) => h.step), [3, 6]);
  });

  test('resume refuses other data, other settings, and a finished run', async () => {
    await assert.rejects(runLmTraining({ text: TEXT + 'x', outDir: dirFor('straight'), resume: true }), /--data differs from the text/);
    await assert.rejects(
      runLmTraining({ text: TEXT, outDir: dirFor('straight'), resume: true, settings: { embd: 64 } }),
      (err: Error) => err instanceof LmSettingsError && /embd 64 differs from the run .* \(embd 32\)/.test(err.message),
    );
    await assert.rejects(runLmTraining({ text: TEXT, outDir: dirFor('straight'), resume: true }), /already finished its 6 steps/);
    await assert.rejects(runLmTraining({ text: TEXT, outDir: dirFor('nothing-here'), resume: true }), /holds no trainer_state\.json/);
  });

  test('a non-finite loss stops the run naming the step and keeps the last checkpoint', async () => {
    const dir = dirFor('diverge');
    const stop = new AbortController();
    await runLmTraining({ text: TEXT, settings, outDir: dir, signal: stop.signal, hooks: { step: (step) => step === 3 && stop.abort() } });
    const weights = await readSafetensors(join(dir, 'model.safetensors'));
    const saved = await readFile(join(dir, 'model.safetensors'));
    const poisoned = new Map([...weights].map(([name, t]) => [name, { shape: t.shape, data: t.data }]));
    (poisoned.get('transformer.ln_f.weight')!.data as Float32Array)[0] = Number.NaN;
    await writeSafetensors(join(dir, 'model.safetensors'), poisoned, { format: 'pt' });
    await assert.rejects(
      runLmTraining({ text: TEXT, outDir: dir, resume: true }),
      (err: Error) => err instanceof LmDivergedError && err.step === 4 && /diverged at step 4: the loss is NaN; the checkpoint of step 3 .* is kept/.test(err.message),
    );
    assert.equal((await readTrainerState(dir)).step, 3);
    assert.ok(!saved.equals(await readFile(join(dir, 'model.safetensors'))), 'sanity: the poisoned weights are what is on disk');
  });
});

describe('resolveTrainingTokenizer', () => {
  test('a tokenizer directory is used as is and its files travel with the checkpoint', async () => {
    const t = await resolveTrainingTokenizer(fixturePath('gpt2-tiny'), TEXT);
    assert.equal(t.kind, 'pretrained');
    assert.equal(t.tokenizer.vocabSize, 50257);
    assert.equal(t.tokenizer.eosTokenId, 50256);
    assert.deepEqual(t.tokenizer.encode('Hello world'), [15496, 995]); // GPT-2's ids, as in every GPT-2 tokenizer test
    assert.deepEqual(Object.keys(t.files).sort(), ['merges.txt', 'tokenizer.json', 'tokenizer_config.json', 'vocab.json']);
  });

  test("'gpt2' never downloads: a cache miss names where it looked", async () => {
    const previous = process.env.HF_HUB_CACHE;
    process.env.HF_HUB_CACHE = dirFor('empty-cache');
    try {
      await assert.rejects(resolveTrainingTokenizer('gpt2', TEXT), (err: Error) => err instanceof LmSettingsError && /not in the Hugging Face cache \(looked in .*models--gpt2/.test(err.message));
    } finally {
      if (previous === undefined) delete process.env.HF_HUB_CACHE;
      else process.env.HF_HUB_CACHE = previous;
    }
  });

  test('a path that is not a directory is a usage error', async () => {
    await assert.rejects(resolveTrainingTokenizer(dirFor('missing'), TEXT), /expected 'char', 'gpt2' or a tokenizer directory/);
  });
});
