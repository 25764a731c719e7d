/** The sampling flags `forja sample` and `forja eval` share for diffusion runs, and their parsers. */
import { InvalidArgumentError, Option, type Command } from 'commander';
import type { ConditionalSampleOptions } from '../../models/mnist/index.js';
import { positiveInt } from './options.js';

export interface ConditionalFlags {
  guidance?: number;
  steps?: number;
  sampler?: 'ddim' | 'ddpm';
  eta?: number;
}

/** Most DDIM steps: the schedule's 1,000 timesteps. */
const MAX_STEPS = 1000;

/** A digit 0–9, or 'all'. */
export function digitChoice(flag: string) {
  return (value: string): number | 'all' => {
    if (value === 'all') return 'all';
    if (!/^[0-9]$/.test(value)) throw new InvalidArgumentError(`${flag} must be a digit from 0 to 9 or 'all', got '${value}'`);
    return Number(value);
  };
}

/** A finite number ≥ 0 ('nan', 'inf' and negatives refused). */
export function nonNegativeNumber(flag: string) {
  return (value: string): number => {
    const n = value.trim() === '' ? Number.NaN : Number(value);
    if (!Number.isFinite(n)) throw new InvalidArgumentError(`${flag} must be a number, got '${value}'`);
    if (n < 0) throw new InvalidArgumentError(`${flag} must be 0 or more (0 is unconditional, 1 conditional, above 1 guided), got '${value}'`);
    return n;
  };
}

function fraction(flag: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n < 0 || n > 1) throw new InvalidArgumentError(`${flag} must be a number in [0, 1], got '${value}'`);
    return n;
  };
}

/** Adds --guidance, --steps, --sampler and --eta to `command`. */
export function conditionalSamplingOptions(command: Command): Command {
  return command
    .option('--guidance <x>', 'diffusion: classifier-free guidance scale (0 unconditional, 1 conditional, >1 guided; default: the run\'s)', nonNegativeNumber('--guidance'))
    .option('--steps <n>', `diffusion: DDIM denoising steps (1-${MAX_STEPS}; default: the run's)`, positiveInt('--steps', MAX_STEPS))
    .addOption(new Option('--sampler <name>', 'diffusion: ddim, or ddpm (all 1,000 steps)').choices(['ddim', 'ddpm']))
    .option('--eta <x>', 'diffusion: DDIM noise, 0 deterministic to 1 DDPM-like (default 0)', fraction('--eta'));
}

export function hasConditionalFlags(flags: ConditionalFlags): boolean {
  return flags.guidance !== undefined || flags.steps !== undefined || flags.sampler !== undefined || flags.eta !== undefined;
}

/** The library's sampling options from the flags given. */
export function samplingOptions(flags: ConditionalFlags): Omit<ConditionalSampleOptions, 'seed'> {
  return {
    ...(flags.guidance === undefined ? {} : { guidance: flags.guidance }),
    ...(flags.steps === undefined ? {} : { steps: flags.steps }),
    ...(flags.sampler === undefined ? {} : { sampler: flags.sampler }),
    ...(flags.eta === undefined ? {} : { eta: flags.eta }),
  };
}
