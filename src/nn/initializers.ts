/**
 * Weight initializers with Keras' names and defaults. Values come from the
 * seeded Rng: an initializer given a `seed` always produces the same values;
 * without one it draws from the global generator, which `setRandomSeed`
 * resets, so a seeded program builds the same weights every run.
 */
import { Rng } from '../core/rng.js';

/** Fan-in and fan-out of a weight, as the variance-scaling initializers see them. */
export interface Fans {
  fanIn: number;
  fanOut: number;
}

export type InitializerName =
  | 'zeros'
  | 'ones'
  | 'constant'
  | 'randomNormal'
  | 'randomUniform'
  | 'truncatedNormal'
  | 'glorotUniform'
  | 'glorotNormal'
  | 'heUniform'
  | 'heNormal'
  | 'lecunUniform'
  | 'lecunNormal';

export interface InitializerConfig {
  className: InitializerName;
  config: InitializerOptions;
}

export interface InitializerOptions {
  seed?: number;
  /** constant */
  value?: number;
  /** randomNormal, truncatedNormal */
  mean?: number;
  stddev?: number;
  /** randomUniform */
  minval?: number;
  maxval?: number;
}

export interface Initializer {
  readonly className: InitializerName;
  readonly options: InitializerOptions;
  /** Values for a weight of `shape`; `fans` default to {@link computeFans}. */
  init(shape: readonly number[], fans?: Fans): Float32Array;
}

let globalRng = new Rng(randomSeed());

function randomSeed(): number {
  return Math.floor(Math.random() * 2 ** 32);
}

/** Make every unseeded initializer and shuffle reproducible from `seed` (Keras' `set_random_seed`). */
export function setRandomSeed(seed: number): void {
  if (!Number.isInteger(seed)) throw new Error(`setRandomSeed: seed must be an integer, received ${seed}`);
  globalRng = new Rng(seed);
}

/** The process-wide generator unseeded initializers and shuffles draw from. */
export function getGlobalRng(): Rng {
  return globalRng;
}

/** A fresh seed from the global generator (for things seeded once, like an epoch's shuffle). */
export function nextSeed(): number {
  return globalRng.int(2 ** 32);
}

/**
 * Keras' fan rule: a matrix [in, out] has fanIn = in, fanOut = out; a
 * convolution kernel in ONNX layout [out, in, kh, kw] multiplies both by the
 * receptive field kh·kw.
 */
export function computeFans(shape: readonly number[]): Fans {
  if (shape.length === 0) return { fanIn: 1, fanOut: 1 };
  if (shape.length === 1) return { fanIn: shape[0]!, fanOut: shape[0]! };
  if (shape.length === 2) return { fanIn: shape[0]!, fanOut: shape[1]! };
  const receptive = shape.slice(2).reduce((a, b) => a * b, 1);
  return { fanIn: shape[1]! * receptive, fanOut: shape[0]! * receptive };
}

// Standard deviation of a unit normal truncated to [-2, 2]; Keras divides by it.
const TRUNCATED_STDDEV = 0.8796256610342398;

type Fill = (size: number, fans: Fans, rng: Rng, o: InitializerOptions) => Float32Array;

const uniform = (size: number, limit: number, rng: Rng, low = -limit): Float32Array =>
  Float32Array.from({ length: size }, () => low + (limit - low) * rng.next());

function truncatedNormal(size: number, mean: number, stddev: number, rng: Rng): Float32Array {
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) {
    let z = rng.normal();
    while (Math.abs(z) > 2) z = rng.normal();
    out[i] = mean + stddev * z;
  }
  return out;
}

/** Variance scaling: scale / n, with n the fan the mode names. */
const scaled = (scale: number, mode: 'fanIn' | 'avg', dist: 'uniform' | 'normal'): Fill => (size, fans, rng) => {
  const n = mode === 'fanIn' ? fans.fanIn : (fans.fanIn + fans.fanOut) / 2;
  const variance = scale / Math.max(1, n);
  return dist === 'uniform'
    ? uniform(size, Math.sqrt(3 * variance), rng)
    : truncatedNormal(size, 0, Math.sqrt(variance) / TRUNCATED_STDDEV, rng);
};

const FILLS: Record<InitializerName, Fill> = {
  zeros: (size) => new Float32Array(size),
  ones: (size) => new Float32Array(size).fill(1),
  constant: (size, _f, _r, o) => new Float32Array(size).fill(o.value ?? 0),
  randomNormal: (size, _f, rng, o) => Float32Array.from({ length: size }, () => (o.mean ?? 0) + (o.stddev ?? 0.05) * rng.normal()),
  randomUniform: (size, _f, rng, o) => uniform(size, o.maxval ?? 0.05, rng, o.minval ?? -0.05),
  truncatedNormal: (size, _f, rng, o) => truncatedNormal(size, o.mean ?? 0, o.stddev ?? 0.05, rng),
  glorotUniform: scaled(1, 'avg', 'uniform'),
  glorotNormal: scaled(1, 'avg', 'normal'),
  heUniform: scaled(2, 'fanIn', 'uniform'),
  heNormal: scaled(2, 'fanIn', 'normal'),
  lecunUniform: scaled(1, 'fanIn', 'uniform'),
  lecunNormal: scaled(1, 'fanIn', 'normal'),
};

/** An initializer by Keras name (camelCase), with its options. */
export function initializer(className: InitializerName, options: InitializerOptions = {}): Initializer {
  const fill = FILLS[className];
  if (!fill) throw new Error(`initializer: unknown initializer '${String(className)}'; known: ${Object.keys(FILLS).join(', ')}`);
  return {
    className,
    options: { ...options },
    init(shape, fans = computeFans(shape)) {
      const rng = options.seed === undefined ? globalRng : new Rng(options.seed);
      return fill(shape.reduce((a, b) => a * b, 1), fans, rng, options);
    },
  };
}

/** What layer options accept: a name with default options, or an initializer. */
export type InitializerSpec = InitializerName | Initializer;

export function getInitializer(spec: InitializerSpec | InitializerConfig): Initializer {
  if (typeof spec === 'string') return initializer(spec);
  if ('init' in spec) return spec;
  return initializer(spec.className, spec.config);
}

export function serializeInitializer(init: Initializer): InitializerConfig {
  return { className: init.className, config: { ...init.options } };
}
