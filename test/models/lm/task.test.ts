import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { TextDataset } from '../../../src/data/text.js';
import { fingerprint } from '../../../src/models/lm/data.js';
import { LM_DEFAULTS, type LmTrainSettings } from '../../../src/models/lm/settings.js';
import { initialModel, LmTask } from '../../../src/models/lm/task.js';
import { resolveTrainingTokenizer, type TrainingTokenizer } from '../../../src/models/lm/tokenizers.js';
import { architectureSpec } from '../../../src/models/registry.js';

const TEXT = 'the quick brown fox jumps over the lazy dog.\n'.repeat(60);
const TINY: LmTrainSettings = { ...LM_DEFAULTS, layers: 2, heads: 2, embd: 32, blockSize: 16, batchSize: 8, steps: 30, lr: 1e-2, warmupSteps: 3, evalInterval: 30, evalBatches: 2, sampleTokens: 8 };
const tokenizer = await resolveTrainingTokenizer('char', TEXT);

async function taskFor(settings: LmTrainSettings, t: TrainingTokenizer = tokenizer): Promise<LmTask> {
  const dataset = TextDataset.fromText(TEXT, t.tokenizer, { seed: settings.seed });
  return LmTask.create({ settings, ...initialModel(settings, t), dataset, tokenizer: t, data: fingerprint(TEXT) });
}

const at = (globalStep: number) => ({ epoch: 0, step: globalStep, globalStep });

describe('initialModel', () => {
  for (const architecture of ['gpt2', 'llama'] as const) {
    test(`${architecture}: the architecture's own config, seeded weights that reload through its loader`, () => {
      const settings = { ...TINY, architecture };
      const a = initialModel(settings, tokenizer);
      const b = initialModel(settings, tokenizer);
      const c = initialModel({ ...settings, seed: 1 }, tokenizer);
      assert.equal(a.model.architecture, architecture === 'gpt2' ? 'GPT2LMHeadModel' : 'LlamaForCausalLM');
      assert.deepEqual([a.model.dims.layers, a.model.dims.hidden, a.model.dims.heads, a.model.dims.maxPositions, a.model.dims.vocabSize], [2, 32, 2, 16, tokenizer.tokenizer.vocabSize]);
      for (const [name, v] of a.model.weights) {
        assert.deepEqual(v.value, b.model.weights.get(name)!.value, `${name}: same seed, same weights`);
        if (v.shape.length === 2) assert.notDeepEqual(v.value, c.model.weights.get(name)!.value, `${name}: another seed, other weights`);
      }
      const { spec } = architectureSpec(a.config);
      const expected = spec.tensors(a.config);
      const reloaded = spec.load(a.config, new Map(expected.map((e) => [e.name, { shape: e.shape, data: new Float32Array(e.shape.reduce((x, y) => x * y, 1)) }])));
      assert.deepEqual([...reloaded.weights.keys()].sort(), [...a.model.weights.keys()].sort());
    });
  }

  test('llama: SwiGLU at 8/3 of the width rounded up to 32, tied embeddings, unit RMSNorm gains, scaled residual projections', () => {
    const { model, config } = initialModel({ ...TINY, architecture: 'llama', embd: 128, heads: 4 }, tokenizer);
    assert.equal(config.intermediate_size, 352);
    assert.equal(config.tie_word_embeddings, true);
    assert.equal(config.rope_theta, 10000);
    assert.ok(!model.weights.has('lm_head.weight'));
    assert.ok(model.weights.get('model.norm.weight')!.value.every((x) => x === 1));
    const std = (name: string): number => {
      const v = model.weights.get(name)!.value;
      return Math.sqrt(v.reduce((s, x) => s + x * x, 0) / v.length);
    };
    assert.ok(Math.abs(std('model.layers.0.mlp.up_proj.weight') - 0.02) < 0.001);
    assert.ok(Math.abs(std('model.layers.0.mlp.down_proj.weight') - 0.02 / 2) < 0.001); // 1/√(2·2 layers)
  });
});

describe('LmTask', () => {
  test('epochs are evaluation intervals, the last one shorter', async () => {
    const task = await taskFor({ ...TINY, steps: 25, evalInterval: 10 });
    try {
      assert.equal(task.epochs, 3);
      assert.deepEqual([0, 1, 2].map((e) => task.stepsInEpoch(e)), [10, 10, 5]);
    } finally {
      await task.release();
    }
  });

  for (const architecture of ['gpt2', 'llama'] as const) {
    test(`${architecture}: a tiny model starts at ln(vocab) and its loss falls over 30 steps`, async () => {
      const task = await taskFor({ ...TINY, architecture });
      try {
        const vocab = tokenizer.tokenizer.vocabSize;
        const before = await task.evaluate();
        // Weights of std 0.02 give near-uniform predictions.
        assert.ok(Math.abs(before.trainLoss - Math.log(vocab)) < 0.05, `initial loss ${before.trainLoss} vs ln ${vocab} = ${Math.log(vocab)}`);
        const losses: number[] = [];
        for (let i = 0; i < 30; i++) {
          const { logs, weight } = await task.trainStep(at(i));
          assert.equal(weight, TINY.batchSize * TINY.blockSize);
          losses.push(logs.loss!);
        }
        const after = await task.validate();
        assert.ok(after.train_loss! < before.trainLoss - 1, `train loss ${before.trainLoss} -> ${after.train_loss}`);
        assert.ok(after.val_loss! < before.valLoss - 1, `val loss ${before.valLoss} -> ${after.val_loss}`);
        assert.ok(losses.slice(-5).reduce((a, b) => a + b) < losses.slice(0, 5).reduce((a, b) => a + b));
      } finally {
        await task.release();
      }
    });
  }

  test('the state holds every weight and both AdamW moments; a step out of place is refused', async () => {
    const task = await taskFor(TINY);
    try {
      const { variables, optimizers } = task.state();
      assert.equal(variables.size, 3 * task.model.weights.size);
      assert.ok(variables.has('AdamW/transformer.h.0.attn.c_attn.weight/m') && variables.has('AdamW/transformer.h.0.attn.c_attn.weight/v'));
      assert.equal(optimizers.adamw, task.optimizer);
      assert.deepEqual(task.meta(), { kind: 'forja-lm', settings: TINY, tokenizer: 'char', data: fingerprint(TEXT) });
      await assert.rejects(task.trainStep(at(5)), /the optimizer has taken 0 steps but the run is at step 5/);
    } finally {
      await task.release();
    }
  });
});
