/**
 * What a causal-LM training run is asked to do, its defaults, and the checks
 * that refuse settings before any work starts. Errors name settings, never
 * flags: an app words them in its own terms (see LmSettingsError.wordWith).
 */
import { SettingsError } from '../../train/errors.js';
import { schedules } from '../../optim/index.js';
import { SCRATCH_ARCHITECTURES, type ModelShape, type ScratchArchitecture } from '../registry.js';

export interface LmTrainSettings extends ModelShape {
  /** The architecture trained from scratch. */
  architecture: ScratchArchitecture;
  steps: number;
  batchSize: number;
  /** Peak learning rate, reached after warmup. */
  lr: number;
  /** The cosine decay ends at lr · minLrRatio (nanoGPT: lr / 10). */
  minLrRatio: number;
  warmupSteps: number;
  weightDecay: number;
  beta1: number;
  beta2: number;
  /** Global gradient-norm clip. */
  clipNorm: number;
  /** Evaluate, sample and checkpoint every this many steps (and after the last). */
  evalInterval: number;
  /** Batches of each split averaged per evaluation. */
  evalBatches: number;
  /** Tokens in each periodic sample. */
  sampleTokens: number;
  seed: number;
}

/**
 * Sized for char-level TinyShakespeare on 2 CPU cores: ~0.8M parameters, about
 * 10–15 minutes to a validation loss near 1.6 (nanoGPT's 6×384 model needs a GPU).
 */
export const LM_DEFAULTS: Readonly<LmTrainSettings> = {
  architecture: 'gpt2',
  layers: 4,
  heads: 4,
  embd: 128,
  blockSize: 128,
  dropout: 0,
  steps: 1500,
  batchSize: 32,
  lr: 2e-3,
  minLrRatio: 0.1,
  warmupSteps: 100,
  weightDecay: 0.1,
  beta1: 0.9,
  beta2: 0.99,
  clipNorm: 1,
  evalInterval: 250,
  evalBatches: 8,
  sampleTokens: 300,
  seed: 0,
};

/** Everything a message can blame: a setting, or one of the run's other inputs. */
export type LmSettingName = keyof LmTrainSettings | 'data' | 'tokenizer' | 'outDir' | 'resume' | 'overwrite';

/** Settings that contradict themselves, the data, the machine or the run being resumed (see SettingsError). */
export class LmSettingsError extends SettingsError {
  override name = 'LmSettingsError';
  constructor(
    /** The setting at fault. */
    override readonly setting: LmSettingName,
    template: string,
  ) {
    super(setting, template);
  }
}

const POSITIVE_INTEGERS = ['layers', 'heads', 'embd', 'blockSize', 'steps', 'batchSize', 'evalInterval', 'evalBatches', 'sampleTokens'] as const;

/** Defaults under the given settings; warmup defaults to a tenth of a short run. */
export function resolveSettings(given: Partial<LmTrainSettings>): LmTrainSettings {
  const defined = Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined)) as Partial<LmTrainSettings>;
  const settings: LmTrainSettings = { ...LM_DEFAULTS, ...defined };
  if (defined.warmupSteps === undefined) settings.warmupSteps = Math.min(LM_DEFAULTS.warmupSteps, Math.floor(settings.steps / 10));
  checkSettings(settings);
  return settings;
}

/** Checks that need nothing but the settings. */
export function checkSettings(s: LmTrainSettings): void {
  if (!(s.architecture in SCRATCH_ARCHITECTURES)) {
    throw new LmSettingsError('architecture', `{architecture} must be one of ${Object.keys(SCRATCH_ARCHITECTURES).join(', ')}, received ${JSON.stringify(s.architecture)}`);
  }
  for (const key of POSITIVE_INTEGERS) {
    if (!Number.isInteger(s[key]) || s[key] < 1) throw new LmSettingsError(key, `{${key}} must be a positive integer, received ${s[key]}`);
  }
  if (!Number.isInteger(s.seed) || s.seed < 0) throw new LmSettingsError('seed', `{seed} must be a non-negative integer, received ${s.seed}`);
  if (s.embd % s.heads !== 0) throw new LmSettingsError('embd', `{embd} ${s.embd} must be divisible by {heads} ${s.heads}`);
  if (s.architecture === 'llama' && (s.embd / s.heads) % 2 !== 0) {
    throw new LmSettingsError('heads', `{embd} ${s.embd} / {heads} ${s.heads} = ${s.embd / s.heads} must be even: rotary embeddings turn pairs of dimensions`);
  }
  if (!(s.dropout >= 0 && s.dropout < 1)) throw new LmSettingsError('dropout', `{dropout} must be in [0, 1), received ${s.dropout}`);
  if (!(s.lr > 0 && Number.isFinite(s.lr))) throw new LmSettingsError('lr', `{lr} must be a positive number, received ${s.lr}`);
  if (!Number.isInteger(s.warmupSteps) || s.warmupSteps < 0 || s.warmupSteps >= s.steps) {
    throw new LmSettingsError('warmupSteps', `{warmupSteps} must be an integer in [0, {steps} = ${s.steps}), received ${s.warmupSteps}`);
  }
}

/** Refused above this estimate: past it a step swaps or dies allocating (a 10 GB mask "hangs"). */
export const MAX_STEP_BYTES = 8 * 2 ** 30;

/**
 * Bytes one training step holds at its peak, roughly: per layer some five
 * (B, H, T, T) attention tensors (scores, probabilities, their gradients) and
 * 24 (B, T, C) activations with their gradients; then the logits, their
 * softmax and gradient (3 · B·T·V). float32 throughout. Calibrated on the
 * default model: batch 8 at block 256 and 1024 measured 0.27 and 3.1 GB above
 * the process's baseline, against 0.27 and 3.1 estimated.
 */
export function stepBytes(s: LmTrainSettings, vocabSize: number): number {
  const bt = s.batchSize * s.blockSize;
  const perLayer = 5 * bt * s.heads * s.blockSize + 24 * bt * s.embd;
  return 4 * (s.layers * perLayer + 3 * bt * vocabSize);
}

/** Checks against the tokenized data and the memory a step needs. */
export function checkSizes(s: LmTrainSettings, vocabSize: number, splits: { train: number; val: number }, maxStepBytes = MAX_STEP_BYTES): void {
  const shortest = Math.min(splits.train, splits.val);
  if (s.blockSize + 1 > shortest) {
    const which = splits.val <= splits.train ? 'validation' : 'training';
    throw new LmSettingsError(
      'blockSize',
      `{blockSize} ${s.blockSize} needs windows of ${s.blockSize + 1} tokens, but the ${which} split of {data} has only ${shortest} tokens; use a smaller {blockSize} or more text`,
    );
  }
  const bytes = stepBytes(s, vocabSize);
  if (bytes > maxStepBytes) {
    const blame = 5 * s.heads * s.blockSize > 24 * s.embd ? 'blockSize' : 'batchSize';
    throw new LmSettingsError(
      blame,
      `{batchSize} ${s.batchSize} × {blockSize} ${s.blockSize} (${s.layers} layers, ${s.embd} wide, vocabulary ${vocabSize}) needs about ${gib(bytes)} GiB per training step, ` +
        `more than the ${gib(maxStepBytes)} GiB allowed; lower {batchSize} or {blockSize}`,
    );
  }
}

const gib = (bytes: number): string => (bytes / 2 ** 30).toFixed(bytes < 10 * 2 ** 30 ? 1 : 0);

/** Linear warmup from lr/(W+1) to lr over W steps, then cosine decay to lr·minLrRatio at the last step. */
export function lmSchedule(s: LmTrainSettings): (iteration: number) => number {
  return schedules.cosineDecay({
    initialLearningRate: s.lr / (s.warmupSteps + 1),
    warmupTarget: s.lr,
    warmupSteps: s.warmupSteps,
    decaySteps: s.steps - s.warmupSteps,
    alpha: s.minLrRatio,
  });
}
