/** Runs a loss and its gradient through onnxruntime, and float64 references, shared by test/losses/*. */
import assert from 'node:assert/strict';
import { grad } from '../../src/autodiff/grad.js';
import { trace, type Tensor } from '../../src/core/graph.js';
import { CompiledGraph, float32 } from '../../src/runtime/session.js';

export interface Case {
  yTrue: number[];
  yPred: number[];
  shape: number[];
  /** Shape of yTrue when it differs (sparse labels). */
  trueShape?: number[];
}

/** Runs `loss(yTrue, transform(yPred))` and returns the value and d loss / d yPred. */
export async function run(c: Case, loss: (t: Tensor, p: Tensor) => Tensor, transform: (p: Tensor) => Tensor = (p) => p): Promise<{ value: number[]; grad: number[] }> {
  const { g, t, p, value, gp } = trace((g) => {
    const t = g.input('t', c.trueShape ?? c.shape);
    const p = g.input('p', c.shape);
    const value = loss(t, transform(p));
    return { g, t, p, value, gp: value.rank === 0 ? grad(value, [p])[0]! : value };
  });
  const cg = await CompiledGraph.compile({ graph: g, inputs: [t, p], outputs: { value, gp }, variables: 'inputs' });
  const out = await cg.run({ t: float32(Float32Array.from(c.yTrue), c.trueShape ?? c.shape), p: float32(Float32Array.from(c.yPred), c.shape) });
  return { value: Array.from(out.value!.data as Float32Array), grad: Array.from(out.gp!.data as Float32Array) };
}

export const close = (actual: number[], expected: number[], tol = 1e-6): void => {
  assert.equal(actual.length, expected.length);
  actual.forEach((v, i) => assert.ok(Math.abs(v - expected[i]!) <= tol * Math.max(1, Math.abs(expected[i]!)), `[${i}] ${v} vs ${expected[i]}`));
};

export const EPS = 1e-7;
export const clip = (p: number): number => Math.min(Math.max(p, EPS), 1 - EPS);
export const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
export const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));
export const rows = (xs: number[], width: number): number[][] => Array.from({ length: xs.length / width }, (_, r) => xs.slice(r * width, r * width + width));
