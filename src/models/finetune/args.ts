/**
 * Fine-tuning settings, their defaults and the checks that refuse them
 * before any work starts, and the learning-rate schedules they name.
 */
import { FinetuneSettingsError } from './errors.js';

export type LrSchedulerType = 'linear' | 'cosine' | 'constant' | 'constant_with_warmup';
export const LR_SCHEDULER_TYPES: readonly LrSchedulerType[] = ['linear', 'cosine', 'constant', 'constant_with_warmup'];

/**
 * How to fine-tune. The names are those of transformers' TrainingArguments
 * (snake_case on purpose, as LoraConfig keeps PEFT's), with HF's defaults and
 * meaning; max_length and packing are TRL's SFTConfig names, and
 * early_stopping_* those of HF's EarlyStoppingCallback.
 */
export interface TrainingArguments {
  /** Where the model and the resumable checkpoint are saved; without one nothing is written. */
  output_dir?: string;
  /** Start afresh in an output_dir that already holds files (they are removed once training is ready to start). */
  overwrite_output_dir?: boolean;
  /** Continue the run saved in output_dir. */
  resume_from_checkpoint?: boolean;
  /** Peak rate, reached after warmup (default 5e-5). */
  learning_rate?: number;
  /** Passes over the training data (default 3); ignored when max_steps > 0. */
  num_train_epochs?: number;
  /** Optimizer steps in the run; ≤ 0 (default −1): num_train_epochs decides. */
  max_steps?: number;
  /** Rows per micro-batch (default 8). */
  per_device_train_batch_size?: number;
  /** Rows per validation batch (default 8). */
  per_device_eval_batch_size?: number;
  /** Micro-batches per optimizer step (default 1); the step's loss is the mean over all their supervised tokens. */
  gradient_accumulation_steps?: number;
  /** Linear warmup from 0 over this many steps (default 0); wins over warmup_ratio. */
  warmup_steps?: number;
  /** Warmup as a fraction of the run's steps, rounded up (default 0). */
  warmup_ratio?: number;
  /** Decay after warmup (default 'linear', to 0 at the last step); 'constant' has no warmup. */
  lr_scheduler_type?: LrSchedulerType;
  /** AdamW's decoupled weight decay (default 0); never on biases and norm weights. */
  weight_decay?: number;
  adam_beta1?: number;
  adam_beta2?: number;
  /** Default 1e-8. */
  adam_epsilon?: number;
  /** Clip the global gradient norm to this (default 1); 0 turns clipping off. */
  max_grad_norm?: number;
  /** Evaluate (and end a Trainer epoch) every this many steps; default: once per pass over the training data. */
  eval_steps?: number;
  /** Save every this many steps, a multiple of eval_steps (default: eval_steps); the last step is always saved. */
  save_steps?: number;
  /** Seeds the shuffles (default 42). */
  seed?: number;
  /** Seeds the data order instead of seed. */
  data_seed?: number;
  /** Stop after this many evaluations without improvement of the validation loss (needs validation data). */
  early_stopping_patience?: number;
  /** An improvement smaller than this does not count (default 0). */
  early_stopping_threshold?: number;
  /** Longest row in tokens (default 1024, at most the model's positions). */
  max_length?: number;
  /** Pack several sequences into each row (default false). */
  packing?: boolean;
}

/** The arguments that shape the run, every one given a value: what a checkpoint stores and a resume must match. */
export interface FinetuneArgs {
  learning_rate: number;
  num_train_epochs: number;
  max_steps: number;
  per_device_train_batch_size: number;
  per_device_eval_batch_size: number;
  gradient_accumulation_steps: number;
  warmup_steps: number;
  warmup_ratio: number;
  lr_scheduler_type: LrSchedulerType;
  weight_decay: number;
  adam_beta1: number;
  adam_beta2: number;
  adam_epsilon: number;
  max_grad_norm: number;
  /** 0: the default (one pass over the data). */
  eval_steps: number;
  /** 0: the default (eval_steps). */
  save_steps: number;
  seed: number;
  data_seed: number;
  max_length: number;
  packing: boolean;
}

export const FINETUNE_DEFAULTS: Readonly<FinetuneArgs> = {
  learning_rate: 5e-5,
  num_train_epochs: 3,
  max_steps: -1,
  per_device_train_batch_size: 8,
  per_device_eval_batch_size: 8,
  gradient_accumulation_steps: 1,
  warmup_steps: 0,
  warmup_ratio: 0,
  lr_scheduler_type: 'linear',
  weight_decay: 0,
  adam_beta1: 0.9,
  adam_beta2: 0.999,
  adam_epsilon: 1e-8,
  max_grad_norm: 1,
  eval_steps: 0,
  save_steps: 0,
  seed: 42,
  data_seed: 42,
  max_length: 1024,
  packing: false,
};

const POSITIVE_INTEGERS = ['per_device_train_batch_size', 'per_device_eval_batch_size', 'gradient_accumulation_steps', 'max_length'] as const;
const NON_NEGATIVE_INTEGERS = ['warmup_steps', 'eval_steps', 'save_steps', 'seed', 'data_seed'] as const;

/** The defaults under the given arguments (undefined means "not given"), checked. data_seed defaults to seed. */
export function resolveArgs(given: TrainingArguments): FinetuneArgs {
  const defined = Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined)) as Partial<FinetuneArgs>;
  const args: FinetuneArgs = { ...FINETUNE_DEFAULTS, ...pick(defined) };
  if (defined.data_seed === undefined) args.data_seed = args.seed;
  checkArgs(args, given);
  return args;
}

function pick(given: Partial<FinetuneArgs>): Partial<FinetuneArgs> {
  return Object.fromEntries(Object.keys(FINETUNE_DEFAULTS).filter((k) => k in given).map((k) => [k, given[k as keyof FinetuneArgs]]));
}

export function checkArgs(a: FinetuneArgs, given: TrainingArguments = {}): void {
  const fail = (setting: string, template: string): never => {
    throw new FinetuneSettingsError(setting, template);
  };
  for (const key of POSITIVE_INTEGERS) if (!Number.isInteger(a[key]) || a[key] < 1) fail(key, `{${key}} must be a positive integer, received ${a[key]}`);
  for (const key of NON_NEGATIVE_INTEGERS) if (!Number.isInteger(a[key]) || a[key] < 0) fail(key, `{${key}} must be a non-negative integer, received ${a[key]}`);
  if (!(a.learning_rate > 0 && Number.isFinite(a.learning_rate))) fail('learning_rate', `{learning_rate} must be a positive number, received ${a.learning_rate}`);
  if (!Number.isInteger(a.max_steps)) fail('max_steps', `{max_steps} must be an integer (≤ 0: {num_train_epochs} decides), received ${a.max_steps}`);
  if (a.max_steps <= 0 && !(a.num_train_epochs > 0 && Number.isFinite(a.num_train_epochs))) {
    fail('num_train_epochs', `{num_train_epochs} must be a positive number, received ${a.num_train_epochs}`);
  }
  if (!(a.warmup_ratio >= 0 && a.warmup_ratio < 1)) fail('warmup_ratio', `{warmup_ratio} must be in [0, 1), received ${a.warmup_ratio}`);
  if (!LR_SCHEDULER_TYPES.includes(a.lr_scheduler_type)) fail('lr_scheduler_type', `{lr_scheduler_type} must be one of ${LR_SCHEDULER_TYPES.join(', ')}, received ${JSON.stringify(a.lr_scheduler_type)}`);
  if (!(a.weight_decay >= 0 && Number.isFinite(a.weight_decay))) fail('weight_decay', `{weight_decay} must be a number ≥ 0, received ${a.weight_decay}`);
  for (const key of ['adam_beta1', 'adam_beta2'] as const) if (!(a[key] >= 0 && a[key] < 1)) fail(key, `{${key}} must be in [0, 1), received ${a[key]}`);
  if (!(a.adam_epsilon >= 0 && Number.isFinite(a.adam_epsilon))) fail('adam_epsilon', `{adam_epsilon} must be a number ≥ 0, received ${a.adam_epsilon}`);
  if (!(a.max_grad_norm >= 0 && Number.isFinite(a.max_grad_norm))) fail('max_grad_norm', `{max_grad_norm} must be a number ≥ 0 (0: no clipping), received ${a.max_grad_norm}`);
  if (a.save_steps > 0 && a.eval_steps > 0 && a.save_steps % a.eval_steps !== 0) {
    fail('save_steps', `{save_steps} ${a.save_steps} must be a multiple of {eval_steps} ${a.eval_steps}: checkpoints are written after evaluations`);
  }
  if (a.save_steps > 0 && a.eval_steps === 0) fail('save_steps', `{save_steps} needs {eval_steps}: checkpoints are written after evaluations`);
  if (typeof a.packing !== 'boolean') fail('packing', `{packing} must be true or false, received ${JSON.stringify(a.packing)}`);
  const patience = given.early_stopping_patience;
  if (patience !== undefined && !(Number.isInteger(patience) && patience >= 1)) {
    fail('early_stopping_patience', `{early_stopping_patience} must be a positive integer, received ${patience}`);
  }
  const threshold = given.early_stopping_threshold;
  if (threshold !== undefined && !(threshold >= 0 && Number.isFinite(threshold))) {
    fail('early_stopping_threshold', `{early_stopping_threshold} must be a number ≥ 0, received ${threshold}`);
  }
}

/** HF's get_warmup_steps: warmup_steps if positive, else ⌈total · warmup_ratio⌉. */
export function warmupStepsOf(a: FinetuneArgs, totalSteps: number): number {
  return a.warmup_steps > 0 ? a.warmup_steps : Math.ceil(totalSteps * a.warmup_ratio);
}

/**
 * transformers' schedules (get_scheduler) as a function of the steps taken:
 * the rate of the step after `t` steps. Warmup rises linearly from 0
 * (t / W); 'linear' then falls to 0 at `total`, 'cosine' follows half a
 * cosine to 0 at `total`, 'constant_with_warmup' stays, 'constant' never warms up.
 */
export function lrSchedule(type: LrSchedulerType, lr: number, warmup: number, total: number): (t: number) => number {
  const warm = (t: number): number | undefined => (t < warmup ? (lr * t) / Math.max(1, warmup) : undefined);
  const progress = (t: number): number => (t - warmup) / Math.max(1, total - warmup);
  switch (type) {
    case 'constant':
      return () => lr;
    case 'constant_with_warmup':
      return (t) => warm(t) ?? lr;
    case 'linear':
      return (t) => warm(t) ?? lr * Math.max(0, 1 - progress(t));
    case 'cosine':
      return (t) => warm(t) ?? lr * Math.max(0, 0.5 * (1 + Math.cos(Math.PI * progress(t))));
  }
}
