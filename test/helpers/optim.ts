/** Two optimizer steps on a fixed quadratic, and the same steps in float64, shared by test/optim/*. */
import assert from 'node:assert/strict';
import * as F from '../../src/core/ops/index.js';
import { Variable } from '../../src/core/variable.js';
import type { Optimizer } from '../../src/optim/index.js';
import { read } from '../../src/nn/index.js';
import { StepRunner } from '../../src/train/step-runner.js';

const W0 = [1, -2, 0.5];
const SCALE = [1, 3, 0.5];

/** Two steps on loss = ½ Σ (s ⊙ w)², whose gradient is s² ⊙ w; returns w after each step. */
export async function twoSteps(optimizer: Optimizer): Promise<number[][]> {
  const w = new Variable('w', [3], Float32Array.from(W0));
  const runner = await StepRunner.compile({
    name: 'optimizer_test',
    inputs: [{ name: 's', shape: [3], dtype: 'float32' }],
    forward: ({ s }) => {
      const sw = F.mul(s!, read(w));
      return { loss: F.mul(F.sum(F.mul(sw, sw)), 0.5), outputs: {} };
    },
    trainable: () => [w],
    optimizer,
  });
  (runner.buffers.s as Float32Array).set(SCALE);
  const after: number[][] = [];
  for (let i = 0; i < 2; i++) {
    await runner.run();
    after.push(Array.from(w.value));
  }
  return after;
}

/** The same two steps in float64 with `update(w, g, t)` mutating w. */
export function reference(update: (w: number[], g: number[], t: number) => void): number[][] {
  const w = [...W0];
  const after: number[][] = [];
  for (let t = 1; t <= 2; t++) {
    update(w, w.map((v, i) => SCALE[i]! ** 2 * v), t);
    after.push([...w]);
  }
  return after;
}

/** g scaled to L2 norm at most c, as clipNorm does. */
export function clipped(g: number[], c: number): number[] {
  const norm = Math.hypot(...g);
  return g.map((v) => (v * c) / Math.max(norm, c));
}

export const close = (actual: number[][], expected: number[][], tol = 1e-6): void =>
  actual.forEach((row, s) => row.forEach((v, i) => assert.ok(Math.abs(v - expected[s]![i]!) < tol, `step ${s + 1} [${i}]: ${v} vs ${expected[s]![i]}`)));
