import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FINETUNE_DEFAULTS, lrSchedule, resolveArgs, warmupStepsOf } from '../../../src/models/finetune/args.js';
import { FinetuneSettingsError } from '../../../src/models/finetune/errors.js';

const refused = (setting: string, message: RegExp) => (err: unknown) => err instanceof FinetuneSettingsError && err.setting === setting && message.test(err.message);

describe('resolveArgs', () => {
  test("transformers' defaults under what is given; data_seed follows seed unless given", () => {
    const a = resolveArgs({});
    assert.deepEqual(
      [a.learning_rate, a.num_train_epochs, a.max_steps, a.per_device_train_batch_size, a.gradient_accumulation_steps, a.lr_scheduler_type, a.weight_decay, a.adam_epsilon, a.max_grad_norm, a.seed],
      [5e-5, 3, -1, 8, 1, 'linear', 0, 1e-8, 1, 42],
    );
    assert.equal(resolveArgs({ seed: 7 }).data_seed, 7);
    assert.equal(resolveArgs({ seed: 7, data_seed: 3 }).data_seed, 3);
    assert.equal(resolveArgs({ learning_rate: undefined }).learning_rate, FINETUNE_DEFAULTS.learning_rate, 'undefined is "not given"');
    assert.ok(!('output_dir' in resolveArgs({ output_dir: '/x' })), 'only the arguments that shape the run');
  });

  test('bad values are FinetuneSettingsErrors naming the argument as {name}, for an app to word', () => {
    assert.throws(() => resolveArgs({ learning_rate: 0 }), refused('learning_rate', /learning_rate must be a positive number, received 0/));
    assert.throws(() => resolveArgs({ per_device_train_batch_size: 1.5 }), refused('per_device_train_batch_size', /positive integer, received 1.5/));
    assert.throws(() => resolveArgs({ gradient_accumulation_steps: 0 }), refused('gradient_accumulation_steps', /positive integer/));
    assert.throws(() => resolveArgs({ lr_scheduler_type: 'polynomial' as never }), refused('lr_scheduler_type', /one of linear, cosine, constant, constant_with_warmup, received "polynomial"/));
    assert.throws(() => resolveArgs({ warmup_ratio: 1 }), refused('warmup_ratio', /\[0, 1\)/));
    assert.throws(() => resolveArgs({ max_steps: -1, num_train_epochs: 0 }), refused('num_train_epochs', /positive number/));
    assert.throws(() => resolveArgs({ eval_steps: 4, save_steps: 6 }), refused('save_steps', /save_steps 6 must be a multiple of eval_steps 4/));
    assert.throws(() => resolveArgs({ early_stopping_patience: 0 }), refused('early_stopping_patience', /positive integer/));
    const err = (() => {
      try {
        resolveArgs({ max_grad_norm: -1 });
      } catch (e) {
        return e as FinetuneSettingsError;
      }
    })()!;
    assert.equal(err.wordWith((s) => `--${s.replace(/_/g, '-')}`), '--max-grad-norm must be a number ≥ 0 (0: no clipping), received -1');
    assert.doesNotThrow(() => resolveArgs({ max_steps: 10, num_train_epochs: 0 }), 'max_steps > 0 makes num_train_epochs moot');
  });
});

describe('schedules', () => {
  test("transformers' get_scheduler: warmup from 0, then linear or half-cosine to 0 at the last step", () => {
    const close = (f: (t: number) => number, expected: Record<number, number>) => {
      for (const [t, v] of Object.entries(expected)) assert.ok(Math.abs(f(Number(t)) - v) < 1e-12, `t=${t}: ${f(Number(t))} vs ${v}`);
    };
    close(lrSchedule('linear', 1, 2, 10), { 0: 0, 1: 0.5, 2: 1, 6: 0.5, 10: 0, 12: 0 });
    close(lrSchedule('cosine', 1, 2, 10), { 0: 0, 1: 0.5, 2: 1, 4: 0.5 + 0.5 * Math.cos(Math.PI / 4), 6: 0.5, 10: 0 });
    close(lrSchedule('constant_with_warmup', 2, 4, 10), { 0: 0, 2: 1, 4: 2, 9: 2 });
    close(lrSchedule('constant', 2, 4, 10), { 0: 2, 9: 2 });
    close(lrSchedule('linear', 3, 0, 4), { 0: 3, 2: 1.5, 3: 0.75 });
  });

  test('warmup_steps wins; warmup_ratio rounds up', () => {
    assert.equal(warmupStepsOf(resolveArgs({ warmup_ratio: 0.1 }), 25), 3);
    assert.equal(warmupStepsOf(resolveArgs({ warmup_ratio: 0.1, warmup_steps: 5 }), 25), 5);
  });
});
