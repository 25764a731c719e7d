/**
 * Finite-difference gradient checks and forward checks against JS references.
 *
 * checkGrad builds f(inputs), contracts it with a fixed random cotangent c
 * (L = Σ c·f), asks grad() for ∂L/∂input, and compares with central
 * differences (L(x+ε) − L(x−ε)) / 2ε computed by re-running the forward.
 * L is summed in float64 on the JS side, so the only float32 rounding in the
 * difference quotient is that of f itself.
 */
import assert from 'node:assert/strict';
import { trace, type Tensor } from '../../src/core/graph.js';
import { Rng } from '../../src/core/rng.js';
import type { Shape } from '../../src/core/shape.js';
import { grad } from '../../src/autodiff/grad.js';
import { mul, sum } from '../../src/core/ops/index.js';
import { CompiledGraph, float32, type OrtTensor } from '../../src/runtime/session.js';

/** A graph input: its (possibly symbolic) shape, and how to fill it. */
export interface InputSpec {
  shape: Shape;
  /** Concrete dims to feed when `shape` has symbolic ones. */
  dims?: readonly number[];
  /** Explicit values (else uniform in [low, high]). */
  values?: ArrayLike<number>;
  low?: number;
  high?: number;
  /** Redraw values closer than `margin` to any of these points (kinks of relu, abs, clip...). */
  avoid?: readonly number[];
  margin?: number;
}

export type Inputs = Record<string, Shape | InputSpec>;
export type Build = (inputs: Record<string, Tensor>) => Tensor;

export interface GradCheckOptions {
  /** Central-difference step. */
  eps?: number;
  atol?: number;
  rtol?: number;
  seed?: number;
  /** Inputs to differentiate with respect to (default: all). */
  wrt?: readonly string[];
}

export interface GradCheckReport {
  /** Largest |analytic − numeric| over all checked elements. */
  maxAbsError: number;
  /** Number of elements checked. */
  checked: number;
  values: Record<string, Float32Array>;
  analytic: Record<string, Float32Array>;
  numeric: Record<string, Float64Array>;
}

/*
 * Default tolerance. With ε = 1e-2, the central difference has truncation
 * error ε²/6·|f'''| ≈ 2e-5·|f'''|, and float32 rounding of f (relative 6e-8,
 * |f| ≲ 10 on these small inputs, up to ~100 terms) adds at most about
 * 100·6e-8·10 / 2ε ≈ 3e-3 in the worst case and ~3e-4 typically. A wrong
 * VJP is off by O(1), so atol 2e-3 + rtol 1e-2 separates the two cleanly.
 */
const DEFAULTS = { eps: 1e-2, atol: 2e-3, rtol: 1e-2, seed: 1 };

function specOf(s: Shape | InputSpec): InputSpec {
  return Array.isArray(s) ? { shape: s as Shape } : (s as InputSpec);
}

function concreteDims(spec: InputSpec, name: string): number[] {
  const dims = spec.dims ?? spec.shape;
  if (!dims.every((d): d is number => typeof d === 'number')) {
    throw new Error(`checkGrad: input '${name}' has symbolic shape [${spec.shape.join(', ')}]; give concrete 'dims'`);
  }
  return [...dims];
}

/** Values for one input, drawn away from the points in `avoid`. */
export function fillValues(spec: InputSpec, dims: readonly number[], rng: Rng): Float32Array {
  const size = dims.reduce((a, b) => a * b, 1);
  if (spec.values) {
    if (spec.values.length !== size) throw new Error(`fillValues: ${spec.values.length} values for dims [${dims.join(', ')}]`);
    return Float32Array.from(spec.values);
  }
  const low = spec.low ?? -1;
  const high = spec.high ?? 1;
  const margin = spec.margin ?? 0.05;
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) {
    let v: number;
    do v = low + (high - low) * rng.next();
    while ((spec.avoid ?? []).some((k) => Math.abs(v - k) < margin));
    out[i] = v;
  }
  return out;
}

/** n values spaced at least `gap` apart, shuffled: no ties for max/min/sort-like ops. */
export function distinctValues(n: number, rng: Rng, gap = 0.1): Float32Array {
  const order = rng.permutation(n);
  return Float32Array.from(order, (k) => (k - n / 2) * gap + 0.01 * rng.next());
}

interface Traced {
  forward: CompiledGraph;
  withGrads: CompiledGraph;
  names: string[];
  wrt: string[];
}

async function compileBoth(build: Build, specs: Record<string, InputSpec>, wrtNames: readonly string[]): Promise<Traced> {
  const names = Object.keys(specs);
  const traced = trace((g) => {
    const inputs: Record<string, Tensor> = {};
    for (const name of names) inputs[name] = g.input(name, specs[name]!.shape);
    const f = build(inputs);
    const cot = g.input('__cotangent', f.shape, f.dtype);
    const loss = g.scope('checkGrad', () => sum(mul(f, cot)));
    const grads = grad(loss, wrtNames.map((n) => inputs[n]!));
    return { g, inputs, f, cot, grads };
  });
  const inputList = names.map((n) => traced.inputs[n]!);
  const outputs: Record<string, Tensor> = { f: traced.f };
  traced.grads.forEach((gr, i) => {
    if (!gr) throw new Error(`checkGrad: grad() gave no gradient for input '${wrtNames[i]}'`);
    outputs[`grad_${wrtNames[i]}`] = gr;
  });
  const [forward, withGrads] = await Promise.all([
    CompiledGraph.compile({ graph: traced.g, inputs: inputList, outputs: { f: traced.f }, variables: 'inputs' }),
    CompiledGraph.compile({ graph: traced.g, inputs: [...inputList, traced.cot], outputs, variables: 'inputs' }),
  ]);
  return { forward, withGrads, names, wrt: [...wrtNames] };
}

function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

/** Compare analytic and finite-difference gradients of every float input; throws on mismatch. */
export async function checkGrad(build: Build, inputs: Inputs, opts: GradCheckOptions = {}): Promise<GradCheckReport> {
  const { eps, atol, rtol, seed } = { ...DEFAULTS, ...opts };
  const specs = Object.fromEntries(Object.entries(inputs).map(([k, s]) => [k, specOf(s)]));
  const wrt = opts.wrt ?? Object.keys(specs);
  const { forward, withGrads, names } = await compileBoth(build, specs, wrt);
  const rng = new Rng(seed);
  const dims = Object.fromEntries(names.map((n) => [n, concreteDims(specs[n]!, n)]));
  const values = Object.fromEntries(names.map((n) => [n, fillValues(specs[n]!, dims[n]!, rng)]));
  const feeds = (): Record<string, OrtTensor> => Object.fromEntries(names.map((n) => [n, float32(values[n]!, dims[n]!)]));

  const f0 = (await forward.run(feeds())).f!;
  const cot = Float32Array.from({ length: f0.data.length }, () => rng.next() * 2 - 1);
  const out = await withGrads.run({ ...feeds(), __cotangent: float32(cot, f0.dims) });
  const lossAt = async (): Promise<number> => dot((await forward.run(feeds())).f!.data as Float32Array, cot);

  const analytic: Record<string, Float32Array> = {};
  const numeric: Record<string, Float64Array> = {};
  let maxAbsError = 0;
  let checked = 0;
  for (const name of wrt) {
    const a = out[`grad_${name}`]!.data as Float32Array;
    const x = values[name]!;
    assert.equal(a.length, x.length, `checkGrad: gradient of '${name}' has ${a.length} elements, input has ${x.length}`);
    const num = new Float64Array(x.length);
    for (let i = 0; i < x.length; i++) {
      const x0 = x[i]!;
      x[i] = x0 + eps;
      const up = await lossAt();
      x[i] = x0 - eps;
      const down = await lossAt();
      x[i] = x0;
      // The step actually taken in float32, not the nominal one.
      num[i] = (up - down) / (Math.fround(x0 + eps) - Math.fround(x0 - eps));
    }
    for (let i = 0; i < x.length; i++) {
      const err = Math.abs(a[i]! - num[i]!);
      maxAbsError = Math.max(maxAbsError, err);
      if (!(err <= atol + rtol * Math.abs(num[i]!))) {
        assert.fail(
          `checkGrad: d/d${name}[${i}] analytic ${a[i]} vs numeric ${num[i]} (|err| ${err.toExponential(2)} > ${atol} + ${rtol}·|numeric|)\n` +
            `analytic ${fmt(a)}\nnumeric  ${fmt(num)}`,
        );
      }
    }
    checked += x.length;
    analytic[name] = a;
    numeric[name] = num;
  }
  await Promise.all([forward.release(), withGrads.release()]);
  return { maxAbsError, checked, values, analytic, numeric };
}

const fmt = (a: ArrayLike<number>): string => `[${Array.from(a, (v) => v.toFixed(5)).join(', ')}]`;

export interface OpCheckOptions {
  atol?: number;
  rtol?: number;
  /** Expected output dims (default: not checked). */
  dims?: readonly number[];
}

export interface Reference {
  data: ArrayLike<number>;
  dims?: readonly number[];
}

/**
 * Run f once on `inputs` (explicit values) and compare with `reference`,
 * computed independently in JS. Returns the output for further checks.
 */
export async function checkOp(
  build: Build,
  inputs: Record<string, InputSpec & { values: ArrayLike<number> }>,
  reference: (values: Record<string, Float32Array>) => Reference | ArrayLike<number>,
  opts: OpCheckOptions = {},
): Promise<OrtTensor> {
  const { atol, rtol } = { atol: 1e-5, rtol: 1e-5, ...opts };
  const names = Object.keys(inputs);
  const traced = trace((g) => {
    const ins: Record<string, Tensor> = {};
    for (const n of names) ins[n] = g.input(n, inputs[n]!.shape);
    return { g, ins, f: build(ins) };
  });
  const cg = await CompiledGraph.compile({ graph: traced.g, inputs: names.map((n) => traced.ins[n]!), outputs: { f: traced.f }, variables: 'inputs' });
  const values = Object.fromEntries(names.map((n) => [n, Float32Array.from(inputs[n]!.values)]));
  const feeds = Object.fromEntries(names.map((n) => [n, float32(values[n]!, concreteDims(inputs[n]!, n))]));
  const out = (await cg.run(feeds)).f!;
  await cg.release();
  const ref = reference(values);
  const expected = 'data' in ref ? ref : { data: ref };
  const dims = opts.dims ?? expected.dims;
  if (dims) assert.deepEqual(out.dims, dims, `checkOp: output dims [${out.dims.join(', ')}], expected [${dims.join(', ')}]`);
  assertClose(out.data as ArrayLike<number>, expected.data, { atol, rtol }, 'checkOp');
  return out;
}

/** Elementwise |actual − expected| ≤ atol + rtol·|expected|, with the first offending index in the message. */
export function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: { atol?: number; rtol?: number }, what: string): void {
  const atol = tol.atol ?? 0;
  const rtol = tol.rtol ?? 0;
  assert.equal(actual.length, expected.length, `${what}: ${actual.length} values, expected ${expected.length}`);
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < actual.length; i++) {
    const a = Number(actual[i]);
    const e = Number(expected[i]);
    const excess = Math.abs(a - e) - (atol + rtol * Math.abs(e));
    if (!(excess <= 0) && (worst < 0 || !(excess <= worstExcess))) {
      worst = i;
      worstExcess = excess;
    }
  }
  if (worst >= 0) {
    assert.fail(`${what}: element ${worst}: ${actual[worst]} vs expected ${expected[worst]} (atol ${atol}, rtol ${rtol})`);
  }
}
