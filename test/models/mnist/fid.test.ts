import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../../src/core/rng.js';
import { featureStats, fidFromFeatures, frechetDistance, type FeatureStats } from '../../../src/models/mnist/fid.js';

function stats2(mean: [number, number], cov: [number, number, number, number]): FeatureStats {
  return { mean: Float64Array.from(mean), cov: Float64Array.from(cov), dim: 2, count: 100 };
}

/** R(θ) diag(d) R(θ)ᵀ for a 2×2 rotation. */
function rotatedDiag(theta: number, d0: number, d1: number): [number, number, number, number] {
  const c = Math.cos(theta);
  const s = Math.sin(theta);
  return [c * c * d0 + s * s * d1, c * s * (d0 - d1), c * s * (d0 - d1), s * s * d0 + c * c * d1];
}

/**
 * Closed form for 2×2: the eigenvalues of Σ₁Σ₂ are those of a PSD matrix M with
 * det M = det Σ₁ det Σ₂, and Tr √M = √(Tr M + 2√det M).
 */
function closedForm2(a: FeatureStats, b: FeatureStats): number {
  const [a0, a1, a2, a3] = a.cov;
  const [b0, b1, b2, b3] = b.cov;
  const trProduct = a0! * b0! + a1! * b2! + a2! * b1! + a3! * b3!;
  const detA = a0! * a3! - a1! * a2!;
  const detB = b0! * b3! - b1! * b2!;
  const traceRoot = Math.sqrt(trProduct + 2 * Math.sqrt(detA * detB));
  const meanTerm = (a.mean[0]! - b.mean[0]!) ** 2 + (a.mean[1]! - b.mean[1]!) ** 2;
  return meanTerm + a0! + a3! + b0! + b3! - 2 * traceRoot;
}

/** `count` rows of `dim` independent normals with per-dimension mean and std. */
function gaussianRows(rng: Rng, count: number, mean: number[], std: number[]): Float32Array {
  const dim = mean.length;
  const out = new Float32Array(count * dim);
  for (let r = 0; r < count; r++) {
    for (let i = 0; i < dim; i++) out[r * dim + i] = mean[i]! + std[i]! * rng.normal();
  }
  return out;
}

describe('featureStats', () => {
  test('mean and unbiased covariance of a hand-computed example', () => {
    // rows (1,2), (3,6), (5,7): means 3, 5; var x = 4, var y = 7, cov xy = 5
    const s = featureStats(Float32Array.from([1, 2, 3, 6, 5, 7]), 3);
    assert.deepEqual(Array.from(s.mean), [3, 5]);
    assert.deepEqual(Array.from(s.cov), [4, 5, 5, 7]);
    assert.equal(s.dim, 2);
  });

  test('rejects ragged input and a single row', () => {
    assert.throws(() => featureStats(new Float32Array(7), 2), /7 values are not 2 rows/);
    assert.throws(() => featureStats(new Float32Array(4), 1), /at least 2 feature rows/);
  });
});

describe('frechetDistance', () => {
  test('identical sets give 0', () => {
    const rng = new Rng(1);
    const features = gaussianRows(rng, 200, [0, 1, -2, 3, 0.5], [1, 2, 0.5, 1, 3]);
    assert.ok(Math.abs(fidFromFeatures(features, 200, features, 200)) < 1e-8);
  });

  test('identity vs rotated covariance matches the closed form', () => {
    const a = stats2([0, 0], [1, 0, 0, 1]);
    const b = stats2([1, 2], rotatedDiag(0.7, 4, 9));
    // |Δμ|² = 5; Tr Σ₁ + Tr Σ₂ − 2 Tr √Σ₂ = 2 + 13 − 2(2 + 3) = 5
    assert.ok(Math.abs(frechetDistance(a, b) - 10) < 1e-9);
  });

  test('two non-commuting covariances match the 2×2 closed form', () => {
    const a = stats2([0.5, -1], rotatedDiag(0.3, 1, 4));
    const b = stats2([-0.5, 2], rotatedDiag(1.2, 9, 0.25));
    const expected = closedForm2(a, b);
    assert.ok(expected > 1, `sanity: expected ${expected} to be well away from 0`);
    assert.ok(Math.abs(frechetDistance(a, b) - expected) < 1e-9);
    assert.ok(Math.abs(frechetDistance(b, a) - expected) < 1e-9, 'symmetric in its arguments');
  });

  test('diagonal Gaussians sampled: close to |Δμ|² + Σ(σ₁ − σ₂)²', () => {
    const rng = new Rng(7);
    const n = 20000;
    const a = gaussianRows(rng, n, [0, 0, 0], [1, 2, 3]);
    const b = gaussianRows(rng, n, [1, 0, -1], [2, 2, 1]);
    const expected = 2 + 1 + 0 + 4;
    const got = fidFromFeatures(a, n, b, n);
    assert.ok(Math.abs(got - expected) < 0.15, `FID ${got}, expected about ${expected}`);
  });

  test('mismatched dimensions are an error naming both', () => {
    const a = featureStats(new Float32Array([1, 2, 3, 4]), 2);
    const b = featureStats(new Float32Array([1, 2, 3, 4, 5, 6]), 2);
    assert.throws(() => frechetDistance(a, b), /2 vs 3/);
  });
});
