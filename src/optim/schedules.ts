/**
 * Learning-rate schedules: plain functions of the optimizer's iteration count
 * (0 for the first step), evaluated in JS and fed to the step graph, so a
 * schedule never forces a recompile.
 */
export type LearningRateSchedule = (iteration: number) => number;

/** The same rate at every step. */
export function constant(learningRate: number): LearningRateSchedule {
  checkRate(learningRate, 'constant');
  return () => learningRate;
}

export interface CosineDecayArgs {
  /** Rate at step 0 (the start of warmup, or of decay without warmup). */
  initialLearningRate: number;
  /** Steps of cosine decay after warmup. */
  decaySteps: number;
  /** Final rate as a fraction of the decayed-from rate (default 0). */
  alpha?: number;
  /** Linear warmup length in steps (default 0). */
  warmupSteps?: number;
  /** Rate reached at the end of warmup (default: initialLearningRate, i.e. no warmup ramp). */
  warmupTarget?: number;
}

/**
 * Keras' CosineDecay with optional linear warmup:
 * warmup (t < W): initial + (target − initial)·t/W;
 * then target·[(1 − α)·½(1 + cos(π·min(t − W, D)/D)) + α].
 */
export function cosineDecay(args: CosineDecayArgs): LearningRateSchedule {
  const { initialLearningRate, decaySteps } = args;
  const alpha = args.alpha ?? 0;
  const warmupSteps = args.warmupSteps ?? 0;
  const target = args.warmupTarget ?? initialLearningRate;
  checkRate(initialLearningRate, 'cosineDecay initialLearningRate');
  checkRate(target, 'cosineDecay warmupTarget');
  if (!Number.isInteger(decaySteps) || decaySteps < 1) throw new Error(`cosineDecay: decaySteps must be a positive integer, received ${decaySteps}`);
  if (!Number.isInteger(warmupSteps) || warmupSteps < 0) throw new Error(`cosineDecay: warmupSteps must be a non-negative integer, received ${warmupSteps}`);
  if (!(alpha >= 0 && alpha <= 1)) throw new Error(`cosineDecay: alpha must be in [0, 1], received ${alpha}`);
  return (t) => {
    if (t < warmupSteps) return initialLearningRate + ((target - initialLearningRate) * t) / warmupSteps;
    const progress = Math.min(t - warmupSteps, decaySteps) / decaySteps;
    return target * ((1 - alpha) * 0.5 * (1 + Math.cos(Math.PI * progress)) + alpha);
  };
}

function checkRate(lr: number, where: string): void {
  if (!(Number.isFinite(lr) && lr >= 0)) throw new Error(`${where}: learning rate must be a finite number ≥ 0, received ${lr}`);
}
