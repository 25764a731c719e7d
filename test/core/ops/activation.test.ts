import { describe, test } from 'node:test';
import type { Tensor } from '../../../src/core/graph.js';
import * as F from '../../../src/core/ops/index.js';
import { checkGrad, checkOp, type InputSpec } from '../../helpers/gradcheck.js';
import { fixedValues } from './reference.js';

const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));
/** Φ(x) via erf from its series; independent of the graph's Erf. */
function normalCdf(x: number): number {
  const z = x / Math.SQRT2;
  let term = z;
  let sum = z;
  for (let n = 1; n < 80; n++) {
    term *= (-z * z) / n;
    sum += term / (2 * n + 1);
  }
  return 0.5 * (1 + (2 / Math.sqrt(Math.PI)) * sum);
}

const ACTIVATIONS: { name: string; op: (x: Tensor) => Tensor; js: (v: number) => number; spec?: Partial<InputSpec> }[] = [
  { name: 'relu', op: F.relu, js: (v) => Math.max(v, 0), spec: { avoid: [0] } },
  { name: 'leakyRelu(0.2)', op: (x) => F.leakyRelu(x, 0.2), js: (v) => (v > 0 ? v : 0.2 * v), spec: { avoid: [0] } },
  { name: 'sigmoid', op: F.sigmoid, js: sigmoid, spec: { low: -4, high: 4 } },
  { name: 'tanh', op: F.tanh, js: Math.tanh, spec: { low: -3, high: 3 } },
  { name: 'gelu (erf)', op: (x) => F.gelu(x), js: (v) => v * normalCdf(v), spec: { low: -3, high: 3 } },
  {
    name: 'gelu (tanh approximation)',
    op: (x) => F.gelu(x, 'tanh'),
    js: (v) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3))),
    spec: { low: -3, high: 3 },
  },
  { name: 'silu', op: F.silu, js: (v) => v * sigmoid(v), spec: { low: -4, high: 4 } },
];

describe('elementwise activations', () => {
  for (const a of ACTIVATIONS) {
    test(`${a.name}: forward and gradient`, async () => {
      const low = a.spec?.low ?? -1;
      const high = a.spec?.high ?? 1;
      const xs = Float32Array.from(fixedValues(12, 5), (u) => low + ((u + 1) / 2) * (high - low));
      if (a.spec?.avoid) xs.forEach((v, i) => (xs[i] = Math.abs(v) < 0.05 ? 0.3 : v));
      await checkOp(({ x }) => a.op(x!), { x: { shape: [3, 4], values: xs } }, () => Array.from(xs, a.js), { atol: 2e-6, rtol: 2e-6 });
      await checkGrad(({ x }) => a.op(x!), { x: { shape: [3, 4], ...a.spec } });
    });
  }
});

/** Softmax / log-softmax along `axis` of a row-major [rows, cols] or [a, b, c] tensor, from the definition. */
function softmaxRef(x: Float32Array, dims: number[], axis: number, log: boolean): number[] {
  const stride = dims.slice(axis + 1).reduce((a, b) => a * b, 1);
  const n = dims[axis]!;
  const out = new Array<number>(x.length);
  for (let f = 0; f < x.length; f++) {
    const base = f - (Math.floor(f / stride) % n) * stride;
    let max = -Infinity;
    for (let k = 0; k < n; k++) max = Math.max(max, x[base + k * stride]!);
    let z = 0;
    for (let k = 0; k < n; k++) z += Math.exp(x[base + k * stride]! - max);
    out[f] = log ? x[f]! - max - Math.log(z) : Math.exp(x[f]! - max) / z;
  }
  return out;
}

describe('softmax and logSoftmax', () => {
  const dims = [2, 3, 4];
  for (const axis of [-1, 1, 0]) {
    for (const [name, op, log] of [['softmax', F.softmax, false], ['logSoftmax', F.logSoftmax, true]] as const) {
      test(`${name} over axis ${axis}: forward and gradient`, async () => {
        const xs = fixedValues(24, 8 + axis, 3);
        const ax = axis < 0 ? axis + dims.length : axis;
        await checkOp(({ x }) => op(x!, axis), { x: { shape: dims, values: xs } }, () => softmaxRef(xs, dims, ax, log), { atol: 2e-6, rtol: 2e-6 });
        await checkGrad(({ x }) => op(x!, axis), { x: { shape: dims, low: -3, high: 3 } });
      });
    }
  }

  test('softmax is stable for large logits', async () => {
    const xs = [1000, 1001, 999, -1000];
    await checkOp(({ x }) => F.softmax(x!), { x: { shape: [4], values: xs } }, () => softmaxRef(Float32Array.from(xs), [4], 0, false), { atol: 1e-6 });
    await checkOp(({ x }) => F.logSoftmax(x!), { x: { shape: [4], values: xs } }, () => softmaxRef(Float32Array.from(xs), [4], 0, true), { atol: 1e-4 });
  });
});
