/**
 * The DDPM noise schedule (Ho et al. 2020, https://arxiv.org/abs/2006.11239)
 * and its samplers: ancestral DDPM and DDIM (Song et al. 2021,
 * https://arxiv.org/abs/2010.02502), both with classifier-free guidance (Ho &
 * Salimans 2022): ε = ε(x, ∅) + w·(ε(x, c) − ε(x, ∅)).
 *
 * Pixels live in [−1, 1]. Everything here is host arithmetic in float64 over
 * the network's float32 predictions; the network is a callback.
 */
import { Rng } from '../../../core/rng.js';

export interface ScheduleConfig {
  /** Diffusion steps T. */
  timesteps: number;
  betaStart: number;
  betaEnd: number;
}

/** DDPM's linear schedule: β from 1e-4 to 0.02 over 1,000 steps. */
export const DEFAULT_SCHEDULE: ScheduleConfig = { timesteps: 1000, betaStart: 1e-4, betaEnd: 0.02 };

export class NoiseSchedule {
  readonly betas: Float64Array;
  readonly alphas: Float64Array;
  /** ᾱ_t = Π_{s ≤ t} (1 − β_s), t = 0 … T−1. */
  readonly alphasCumprod: Float64Array;

  constructor(readonly config: ScheduleConfig = DEFAULT_SCHEDULE) {
    const { timesteps: T, betaStart, betaEnd } = config;
    if (!Number.isInteger(T) || T < 2) throw new RangeError(`NoiseSchedule: timesteps must be an integer ≥ 2, received ${T}`);
    if (!(betaStart > 0 && betaEnd >= betaStart && betaEnd < 1)) throw new RangeError(`NoiseSchedule: need 0 < betaStart ≤ betaEnd < 1, received ${betaStart}, ${betaEnd}`);
    this.betas = Float64Array.from({ length: T }, (_, t) => betaStart + ((betaEnd - betaStart) * t) / (T - 1));
    this.alphas = this.betas.map((b) => 1 - b);
    this.alphasCumprod = new Float64Array(T);
    let product = 1;
    for (let t = 0; t < T; t++) this.alphasCumprod[t] = product *= this.alphas[t]!;
  }

  get timesteps(): number {
    return this.config.timesteps;
  }

  /** Signal-to-noise ratio ᾱ_t / (1 − ᾱ_t). */
  snr(t: number): number {
    const a = this.alphasCumprod[t]!;
    return a / (1 - a);
  }

  /** x_t = √ᾱ_t·x₀ + √(1 − ᾱ_t)·ε for one row, into `out`. */
  addNoise(x0: Float32Array, eps: Float32Array, t: number, out: Float32Array, offset = 0): void {
    const a = Math.sqrt(this.alphasCumprod[t]!);
    const s = Math.sqrt(1 - this.alphasCumprod[t]!);
    for (let i = 0; i < eps.length; i++) out[offset + i] = a * x0[i]! + s * eps[i]!;
  }
}

/**
 * The timesteps a `steps`-step DDIM run visits, from T−1 down, evenly spaced
 * and ending where the spacing lands ("trailing" spacing, so the first step
 * starts from pure noise).
 */
export function ddimTimesteps(timesteps: number, steps: number): number[] {
  if (!Number.isInteger(steps) || steps < 1 || steps > timesteps) throw new RangeError(`ddimTimesteps: steps must be an integer in [1, ${timesteps}], received ${steps}`);
  const out: number[] = [];
  for (let i = 0; i < steps; i++) out.push(Math.round(timesteps - (i * timesteps) / steps) - 1);
  return out;
}

/** ε for `rows` images x_t at timestep t (the same for every row), conditioned on `labels` (NULL_CLASS: none). */
export type NoisePredictor = (x: Float32Array, t: number, labels: BigInt64Array, rows: number) => Promise<Float32Array>;

export interface SampleOptions {
  /** Requested classes, one per image. */
  labels: ArrayLike<number>;
  /** The class index meaning "no class". */
  nullClass: number;
  /** Classifier-free guidance scale w ≥ 0: 0 is unconditional, 1 purely conditional, > 1 guided. */
  guidance: number;
  seed: number;
  /** Pixels per image. */
  pixels: number;
  /** Called after each denoising step (progress bars). */
  onStep?: (done: number, total: number) => void;
}

export interface DdimOptions extends SampleOptions {
  steps: number;
  /** 0: deterministic DDIM; 1: as stochastic as DDPM. */
  eta?: number;
}

/** Guided ε for a batch: one network call on [x; x] with [labels; ∅] when guidance needs both halves. */
async function guidedEps(model: NoisePredictor, x: Float32Array, t: number, opts: SampleOptions, cond: BigInt64Array, rows: number): Promise<Float32Array> {
  const w = opts.guidance;
  if (w === 1) return model(x, t, cond, rows);
  const uncond = new BigInt64Array(rows).fill(BigInt(opts.nullClass));
  if (w === 0) return model(x, t, uncond, rows);
  const both = new Float32Array(2 * x.length);
  both.set(x);
  both.set(x, x.length);
  const labels = new BigInt64Array(2 * rows);
  labels.set(cond);
  labels.set(uncond, rows);
  const eps = await model(both, t, labels, 2 * rows);
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const u = eps[x.length + i]!;
    out[i] = u + w * (eps[i]! - u);
  }
  return out;
}

function checkSampleOptions(opts: SampleOptions): void {
  if (!(Number.isFinite(opts.guidance) && opts.guidance >= 0)) throw new RangeError(`sample: guidance must be a finite number ≥ 0, received ${opts.guidance}`);
}

function startingNoise(rng: Rng, rows: number, pixels: number): Float32Array {
  return Float32Array.from({ length: rows * pixels }, () => rng.normal());
}

const toLabels = (labels: ArrayLike<number>): BigInt64Array => BigInt64Array.from(Array.from(labels, (l) => BigInt(l)));

/** x₀ = (x_t − √(1 − ᾱ)·ε)/√ᾱ clipped to [−1, 1], and the ε that clipped x₀ implies. */
function predictX0(x: number, eps: number, alphaBar: number): [number, number] {
  const x0 = Math.min(1, Math.max(-1, (x - Math.sqrt(1 - alphaBar) * eps) / Math.sqrt(alphaBar)));
  return [x0, (x - Math.sqrt(alphaBar) * x0) / Math.sqrt(1 - alphaBar)];
}

/** DDIM: `steps` network evaluations (× 2 with guidance); deterministic given the seed when eta = 0. */
export async function sampleDdim(schedule: NoiseSchedule, model: NoisePredictor, opts: DdimOptions): Promise<Float32Array> {
  checkSampleOptions(opts);
  const eta = opts.eta ?? 0;
  if (!(eta >= 0 && eta <= 1)) throw new RangeError(`sampleDdim: eta must be in [0, 1], received ${eta}`);
  const rows = opts.labels.length;
  const rng = new Rng(opts.seed);
  let x = startingNoise(rng, rows, opts.pixels);
  const cond = toLabels(opts.labels);
  const ts = ddimTimesteps(schedule.timesteps, opts.steps);
  for (let i = 0; i < ts.length; i++) {
    const t = ts[i]!;
    const alphaBar = schedule.alphasCumprod[t]!;
    const prev = i + 1 < ts.length ? schedule.alphasCumprod[ts[i + 1]!]! : 1;
    const eps = await guidedEps(model, x, t, opts, cond, rows);
    const sigma = eta * Math.sqrt(((1 - prev) / (1 - alphaBar)) * (1 - alphaBar / prev));
    const direction = Math.sqrt(Math.max(1 - prev - sigma * sigma, 0));
    const next = new Float32Array(x.length);
    for (let j = 0; j < x.length; j++) {
      const [x0, e] = predictX0(x[j]!, eps[j]!, alphaBar);
      next[j] = Math.sqrt(prev) * x0 + direction * e + (sigma > 0 ? sigma * rng.normal() : 0);
    }
    x = next;
    opts.onStep?.(i + 1, ts.length);
  }
  return x;
}

/** Ancestral DDPM sampling: T network evaluations (× 2 with guidance), posterior variance β̃_t. */
export async function sampleDdpm(schedule: NoiseSchedule, model: NoisePredictor, opts: SampleOptions): Promise<Float32Array> {
  checkSampleOptions(opts);
  const rows = opts.labels.length;
  const rng = new Rng(opts.seed);
  let x = startingNoise(rng, rows, opts.pixels);
  const cond = toLabels(opts.labels);
  const T = schedule.timesteps;
  for (let t = T - 1; t >= 0; t--) {
    const alphaBar = schedule.alphasCumprod[t]!;
    const prev = t > 0 ? schedule.alphasCumprod[t - 1]! : 1;
    const beta = schedule.betas[t]!;
    const eps = await guidedEps(model, x, t, opts, cond, rows);
    // Posterior mean from the clipped x₀ (Ho et al. eq. 7) and σ² = β̃_t.
    const c0 = (Math.sqrt(prev) * beta) / (1 - alphaBar);
    const ct = (Math.sqrt(schedule.alphas[t]!) * (1 - prev)) / (1 - alphaBar);
    const sigma = t > 0 ? Math.sqrt(((1 - prev) / (1 - alphaBar)) * beta) : 0;
    const next = new Float32Array(x.length);
    for (let j = 0; j < x.length; j++) {
      const [x0] = predictX0(x[j]!, eps[j]!, alphaBar);
      next[j] = c0 * x0 + ct * x[j]! + (sigma > 0 ? sigma * rng.normal() : 0);
    }
    x = next;
    opts.onStep?.(T - t, T);
  }
  return x;
}
