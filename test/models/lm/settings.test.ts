import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { checkSettings, checkSizes, LM_DEFAULTS, LmSettingsError, lmSchedule, MAX_STEP_BYTES, resolveSettings, stepBytes, type LmTrainSettings } from '../../../src/models/lm/settings.js';

const flagged = (s: string): string => `--${s.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

/** The error's setting and its message as an app would word it. */
function refusal(fn: () => void): { setting: string; library: string; app: string } {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof LmSettingsError, `expected an LmSettingsError, got ${String(err)}`);
    return { setting: err.setting, library: err.message, app: err.wordWith(flagged) };
  }
  assert.fail('expected a refusal');
}

describe('resolveSettings', () => {
  test('defaults fill what is not given; warmup defaults to a tenth of a short run', () => {
    assert.deepEqual(resolveSettings({}), LM_DEFAULTS);
    assert.equal(resolveSettings({ steps: 40 }).warmupSteps, 4);
    assert.equal(resolveSettings({ steps: 40, warmupSteps: 0 }).warmupSteps, 0);
    assert.equal(resolveSettings({ embd: undefined }).embd, LM_DEFAULTS.embd);
  });
});

describe('checkSettings', () => {
  const cases: [Partial<LmTrainSettings>, string, RegExp][] = [
    [{ steps: 0 }, 'steps', /^steps must be a positive integer, received 0$/],
    [{ batchSize: 1.5 }, 'batchSize', /^batchSize must be a positive integer/],
    [{ embd: 30, heads: 4 }, 'embd', /^embd 30 must be divisible by heads 4$/],
    [{ architecture: 'llama', embd: 18, heads: 6 }, 'heads', /^embd 18 \/ heads 6 = 3 must be even/],
    [{ dropout: 1 }, 'dropout', /dropout must be in \[0, 1\)/],
    [{ lr: 0 }, 'lr', /lr must be a positive number/],
    [{ warmupSteps: 1500 }, 'warmupSteps', /warmupSteps must be an integer in \[0, steps = 1500\)/],
    [{ architecture: 'gpt3' as never }, 'architecture', /architecture must be one of gpt2, llama, received "gpt3"/],
    [{ seed: -1 }, 'seed', /seed must be a non-negative integer/],
  ];
  for (const [given, setting, message] of cases) {
    test(`${JSON.stringify(given)} is refused naming ${setting}`, () => {
      const r = refusal(() => checkSettings({ ...LM_DEFAULTS, ...given }));
      assert.equal(r.setting, setting);
      assert.match(r.library, message);
      assert.doesNotMatch(r.library, /--/, 'the library never names a flag');
    });
  }

  test('wordWith lets an app put its own names on every setting the message mentions', () => {
    const r = refusal(() => checkSettings({ ...LM_DEFAULTS, embd: 30, heads: 4 }));
    assert.equal(r.app, '--embd 30 must be divisible by --heads 4');
  });
});

describe('checkSizes', () => {
  const splits = { train: 10_000, val: 1_000 };

  test('a block longer than a split is refused naming blockSize and the split', () => {
    const r = refusal(() => checkSizes({ ...LM_DEFAULTS, batchSize: 4, blockSize: 1000 }, 65, splits));
    assert.equal(r.setting, 'blockSize');
    assert.match(r.app, /--block-size 1000 needs windows of 1001 tokens, but the validation split of --data has only 1000 tokens/);
    checkSizes({ ...LM_DEFAULTS, batchSize: 4, blockSize: 999 }, 65, splits);
  });

  test('a step that would not fit in memory is refused before anything is allocated', () => {
    const long = refusal(() => checkSizes({ ...LM_DEFAULTS, blockSize: 100_000 }, 65, { train: 1e7, val: 1e6 }));
    assert.equal(long.setting, 'blockSize'); // T² attention scores dominate
    assert.match(long.app, /--batch-size 32 × --block-size 100000 .* needs about \d+ GiB per training step, more than the 8\.0 GiB allowed; lower --batch-size or --block-size/);
    const wide = refusal(() => checkSizes({ ...LM_DEFAULTS, batchSize: 1e9 }, 65, splits));
    assert.equal(wide.setting, 'batchSize');
  });

  test('the defaults need a few hundred MB per step, far under the limit', () => {
    const bytes = stepBytes(LM_DEFAULTS, 65);
    assert.ok(bytes > 300e6 && bytes < 500e6, `${bytes}`);
    assert.ok(stepBytes({ ...LM_DEFAULTS, batchSize: 64 }, 65) === 2 * bytes, 'linear in the batch');
    checkSizes(LM_DEFAULTS, 50257, { train: 1e6, val: 1e5 }); // the GPT-2 vocabulary's logits still fit
    assert.throws(() => checkSizes(LM_DEFAULTS, 65, splits, bytes - 1), LmSettingsError);
    assert.equal(MAX_STEP_BYTES, 8 * 2 ** 30);
  });
});

describe('lmSchedule', () => {
  test('linear warmup to the peak, cosine decay to a tenth at the last step', () => {
    const lr = lmSchedule({ ...LM_DEFAULTS, steps: 110, warmupSteps: 10, lr: 1 });
    assert.ok(Math.abs(lr(0) - 1 / 11) < 1e-12);
    assert.ok(Math.abs(lr(10) - 1) < 1e-12);
    assert.ok(Math.abs(lr(60) - (0.1 + 0.9 * 0.5)) < 1e-12); // halfway through the decay
    assert.ok(Math.abs(lr(110) - 0.1) < 1e-12);
  });
});
