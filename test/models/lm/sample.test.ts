import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { TextDataset } from '../../../src/data/text.js';
import { CausalLM } from '../../../src/models/causal-lm.js';
import { fingerprint } from '../../../src/models/lm/data.js';
import { sampleCallback, samplePrompt, sampleText, slidingGenerate, type EvalSample } from '../../../src/models/lm/sample.js';
import { LM_DEFAULTS, type LmTrainSettings } from '../../../src/models/lm/settings.js';
import { initialModel, LmTask } from '../../../src/models/lm/task.js';
import { resolveTrainingTokenizer } from '../../../src/models/lm/tokenizers.js';
import type { Trainer } from '../../../src/train/trainer.js';
import { fixturePath } from '../../helpers/fixtures.js';

const TEXT = 'the quick brown fox jumps over the lazy dog.\n'.repeat(20);
const SETTINGS: LmTrainSettings = { ...LM_DEFAULTS, layers: 1, heads: 2, embd: 16, blockSize: 8, batchSize: 2, steps: 2, warmupSteps: 0, sampleTokens: 20 };

describe('samplePrompt', () => {
  test('a newline for a vocabulary that has one, else BOS/EOS', async () => {
    const char = await resolveTrainingTokenizer('char', TEXT);
    const dataset = TextDataset.fromText(TEXT, char.tokenizer);
    assert.deepEqual(samplePrompt(char.tokenizer, dataset), char.tokenizer.encode('\n'));
    const gpt2 = await resolveTrainingTokenizer(fixturePath('gpt2-tiny'), TEXT);
    assert.deepEqual(samplePrompt(gpt2.tokenizer, dataset), [198]); // GPT-2's "\n"
  });
});

describe('sampling', () => {
  test('slidingGenerate draws past the context length, seeded; the callback reports it with the losses', async () => {
    const tokenizer = await resolveTrainingTokenizer('char', TEXT);
    const dataset = TextDataset.fromText(TEXT, tokenizer.tokenizer);
    const task = await LmTask.create({ settings: SETTINGS, ...initialModel(SETTINGS, tokenizer), dataset, tokenizer, data: fingerprint(TEXT) });
    const lm = await CausalLM.fromModel(task.model);
    try {
      const prompt = samplePrompt(tokenizer.tokenizer, dataset);
      const ids = await slidingGenerate(lm, prompt, 20, 7); // 20 tokens from a model with 8 positions
      assert.equal(ids.length, 20);
      assert.ok(ids.every((id) => Number.isInteger(id) && id >= 0 && id < tokenizer.tokenizer.vocabSize));
      assert.deepEqual(await slidingGenerate(lm, prompt, 20, 7), ids);
      assert.notDeepEqual(await slidingGenerate(lm, prompt, 20, 8), ids);

      const text = await sampleText(task);
      assert.equal([...text].length, 20); // one character per token
      const reports: EvalSample[] = [];
      const callback = sampleCallback(task, (e) => void reports.push(e));
      callback.setTrainer!({ position: { epoch: 1, step: 0, globalStep: 2 } } as Trainer);
      await callback.onEpochEnd!(0, { loss: 3, train_loss: 3.1, val_loss: 3.2 });
      assert.deepEqual(reports, [{ step: 2, trainLoss: 3.1, valLoss: 3.2, sample: text }]);
    } finally {
      await lm.release();
      await task.release();
    }
  });
});
