import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { trace, type Tensor } from '../../../src/core/graph.js';
import * as F from '../../../src/core/ops/index.js';
import { grad } from '../../../src/autodiff/grad.js';
import { CompiledGraph, float32, type OrtTensor } from '../../../src/runtime/session.js';

async function runOnce(build: () => Record<string, Tensor>): Promise<Record<string, OrtTensor>> {
  const { g, outputs } = trace((g) => ({ g, outputs: build() }));
  const cg = await CompiledGraph.compile({ graph: g, inputs: [], outputs, variables: 'inputs' });
  const out = await cg.run({});
  await cg.release();
  return out;
}

function moments(data: Float32Array): { mean: number; std: number } {
  const mean = data.reduce((a, b) => a + b, 0) / data.length;
  const variance = data.reduce((a, b) => a + (b - mean) ** 2, 0) / data.length;
  return { mean, std: Math.sqrt(variance) };
}

const N = 20000;

describe('randomNormal / randomUniform', () => {
  test('normal samples have the requested mean and std', async () => {
    const out = await runOnce(() => ({ s: F.randomNormal([N], { mean: 2, std: 0.5, seed: 3 }) }));
    const { mean, std } = moments(out.s!.data as Float32Array);
    // Standard error of the mean 0.5/√N ≈ 0.0035; of the std ≈ 0.0025. Bands are ~6 sigma.
    assert.ok(Math.abs(mean - 2) < 0.02, `mean ${mean}`);
    assert.ok(Math.abs(std - 0.5) < 0.015, `std ${std}`);
  });

  test('uniform samples lie in [low, high) with the right mean and spread', async () => {
    const out = await runOnce(() => ({ s: F.randomUniform([N], { low: -2, high: 3, seed: 4 }) }));
    const data = out.s!.data as Float32Array;
    assert.ok(data.every((v) => v >= -2 && v < 3));
    const { mean, std } = moments(data);
    // U(-2, 3): mean 0.5, std 5/√12 ≈ 1.443; standard error of the mean ≈ 0.0102.
    assert.ok(Math.abs(mean - 0.5) < 0.06, `mean ${mean}`);
    assert.ok(Math.abs(std - 5 / Math.sqrt(12)) < 0.03, `std ${std}`);
  });

  test('the like form copies a symbolic shape: one session, two batch sizes', async () => {
    const { g, x, s } = trace((g) => {
      const x = g.input('x', ['batch', 3]);
      return { g, x, s: F.randomUniform(x, { seed: 1 }) };
    });
    assert.deepEqual(s.shape, ['batch', 3]);
    const cg = await CompiledGraph.compile({ graph: g, inputs: [x], outputs: { s }, variables: 'inputs' });
    for (const n of [2, 5]) assert.deepEqual((await cg.run({ x: float32(new Float32Array(n * 3), [n, 3]) })).s!.dims, [n, 3]);
    await cg.release();
  });

  test('seeding: runs of a session differ, a fresh session repeats the sequence, another seed differs', async () => {
    const sequence = async (seed: number): Promise<number[][]> => {
      const { g, s } = trace((g) => ({ g, s: F.randomNormal([8], { seed }) }));
      const cg = await CompiledGraph.compile({ graph: g, inputs: [], outputs: { s }, variables: 'inputs' });
      const runs: number[][] = [];
      for (let r = 0; r < 3; r++) runs.push(Array.from((await cg.run({})).s!.data as Float32Array));
      await cg.release();
      return runs;
    };
    const first = await sequence(11);
    assert.notDeepEqual(first[0], first[1]);
    assert.notDeepEqual(first[1], first[2]);
    assert.deepEqual(await sequence(11), first);
    assert.notDeepEqual((await sequence(12))[0], first[0]);
  });

  test('not differentiable, but a gradient flows around the sample (reparameterisation)', async () => {
    const { g, mu, sigma, eps, dmu, dsigma } = trace((g) => {
      const mu = g.input('mu', ['batch', 4]);
      const sigma = g.input('sigma', ['batch', 4]);
      const eps = F.randomNormal(mu, { seed: 5 });
      const z = F.add(mu, F.mul(sigma, eps));
      const [dmu, dsigma] = grad(F.sum(z), [mu, sigma]);
      return { g, mu, sigma, eps, dmu: dmu!, dsigma: dsigma! };
    });
    const cg = await CompiledGraph.compile({ graph: g, inputs: [mu, sigma], outputs: { eps, dmu, dsigma }, variables: 'inputs' });
    const out = await cg.run({ mu: float32(new Float32Array(8).fill(0.3), [2, 4]), sigma: float32(new Float32Array(8).fill(2), [2, 4]) });
    assert.deepEqual(Array.from(out.dmu!.data as Float32Array), new Array(8).fill(1));
    assert.deepEqual(Array.from(out.dsigma!.data as Float32Array), Array.from(out.eps!.data as Float32Array));
    await cg.release();
  });

  test('argument errors', () => {
    trace(() => {
      assert.throws(() => F.randomUniform([2], { low: 1, high: 1 }), /high \(1\) must be greater than low \(1\)/);
      assert.throws(() => F.randomNormal([2, -1]), /randomNormal: shape must be non-negative integers, received \[2, -1\]/);
    });
  });
});
