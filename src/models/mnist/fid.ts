/**
 * Fréchet distance between two sets of feature vectors (FID when the features
 * come from a classifier's penultimate layer; Heusel et al. 2017,
 * https://arxiv.org/abs/1706.08500):
 *
 *   d² = |μ₁ − μ₂|² + Tr(Σ₁ + Σ₂ − 2 (Σ₁ Σ₂)^{1/2})
 *
 * Σ₁Σ₂ is not symmetric, so Tr((Σ₁Σ₂)^{1/2}) is computed as Tr(M^{1/2}) with
 * M = Σ₁^{1/2} Σ₂ Σ₁^{1/2}: M is symmetric PSD and similar to Σ₁Σ₂, so both
 * square roots come from symmetric eigendecompositions (stable, real).
 */
import { EigenvalueDecomposition, Matrix } from 'ml-matrix';

/** Mean and (unbiased, n − 1) covariance of a set of feature vectors. */
export interface FeatureStats {
  mean: Float64Array;
  /** dim × dim, row-major. */
  cov: Float64Array;
  dim: number;
  count: number;
}

/** Stats of `count` feature rows stored back to back in `features`. */
export function featureStats(features: Float32Array | Float64Array, count: number): FeatureStats {
  if (!Number.isInteger(count) || count < 2) {
    throw new RangeError(`featureStats: need at least 2 feature rows for a covariance, got count ${count}`);
  }
  if (features.length % count !== 0) {
    throw new RangeError(`featureStats: ${features.length} values are not ${count} rows of equal length`);
  }
  const dim = features.length / count;
  const mean = new Float64Array(dim);
  for (let r = 0; r < count; r++) {
    for (let i = 0; i < dim; i++) mean[i]! += features[r * dim + i]!;
  }
  for (let i = 0; i < dim; i++) mean[i]! /= count;

  const cov = new Float64Array(dim * dim);
  const centred = new Float64Array(dim);
  for (let r = 0; r < count; r++) {
    for (let i = 0; i < dim; i++) centred[i] = features[r * dim + i]! - mean[i]!;
    for (let i = 0; i < dim; i++) {
      const ci = centred[i]!;
      for (let j = i; j < dim; j++) cov[i * dim + j]! += ci * centred[j]!;
    }
  }
  for (let i = 0; i < dim; i++) {
    for (let j = i; j < dim; j++) {
      const v = cov[i * dim + j]! / (count - 1);
      cov[i * dim + j] = v;
      cov[j * dim + i] = v;
    }
  }
  return { mean, cov, dim, count };
}

function toMatrix(values: Float64Array, dim: number): Matrix {
  return Matrix.from1DArray(dim, dim, values);
}

/** Eigenvalues of a symmetric matrix, with round-off negatives clipped to 0. */
function symmetricEigen(m: Matrix): { values: number[]; vectors: Matrix } {
  const symmetric = m.add(m.transpose()).div(2);
  const evd = new EigenvalueDecomposition(symmetric, { assumeSymmetric: true });
  return { values: evd.realEigenvalues.map((v) => Math.max(v, 0)), vectors: evd.eigenvectorMatrix };
}

/** Principal square root of a symmetric PSD matrix: V diag(√λ) Vᵀ. */
function sqrtPsd(m: Matrix): Matrix {
  const { values, vectors } = symmetricEigen(m);
  const scaled = vectors.clone();
  for (let c = 0; c < values.length; c++) scaled.mulColumn(c, Math.sqrt(values[c]!));
  return scaled.mmul(vectors.transpose());
}

function trace(values: Float64Array, dim: number): number {
  let t = 0;
  for (let i = 0; i < dim; i++) t += values[i * dim + i]!;
  return t;
}

/** Fréchet distance between two Gaussians given by their stats (≥ 0). */
export function frechetDistance(a: FeatureStats, b: FeatureStats): number {
  if (a.dim !== b.dim) {
    throw new RangeError(`frechetDistance: feature dimensions differ: ${a.dim} vs ${b.dim}`);
  }
  const dim = a.dim;
  let meanTerm = 0;
  for (let i = 0; i < dim; i++) meanTerm += (a.mean[i]! - b.mean[i]!) ** 2;

  const rootA = sqrtPsd(toMatrix(a.cov, dim));
  const product = rootA.mmul(toMatrix(b.cov, dim)).mmul(rootA);
  const traceRoot = symmetricEigen(product).values.reduce((s, v) => s + Math.sqrt(v), 0);
  const d = meanTerm + trace(a.cov, dim) + trace(b.cov, dim) - 2 * traceRoot;
  // Round-off can leave identical sets a hair below zero.
  return Math.max(d, 0);
}

/** FID of two feature sets (rows back to back, `countA`/`countB` rows). */
export function fidFromFeatures(
  featuresA: Float32Array,
  countA: number,
  featuresB: Float32Array,
  countB: number,
): number {
  return frechetDistance(featureStats(featuresA, countA), featureStats(featuresB, countB));
}
