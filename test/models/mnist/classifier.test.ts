import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { accuracy, buildClassifier, classifierCacheDir, FEATURE_DIM, featureExtractor } from '../../../src/models/mnist/classifier.js';

describe('FID classifier', () => {
  test('accuracy counts rows whose arg-max is the label', () => {
    const probabilities = new Float32Array(30);
    probabilities[3] = 0.9; // row 0 → 3 (label 3: right)
    probabilities[10 + 7] = 0.6; // row 1 → 7 (label 1: wrong)
    probabilities[20 + 0] = 0.5; // row 2 → 0 (label 0: right)
    assert.equal(accuracy(probabilities, Uint8Array.from([3, 1, 0])), 2 / 3);
  });

  test('the feature extractor shares the classifier\'s layers and stops at the penultimate one', () => {
    const classifier = buildClassifier();
    const features = featureExtractor(classifier);
    assert.deepEqual(classifier.outputs[0]!.shape, ['batch', 10]);
    assert.deepEqual(features.outputs[0]!.shape, ['batch', FEATURE_DIM]);
    const shared = new Set(classifier.weights);
    assert.ok(features.weights.length > 0 && features.weights.every((w) => shared.has(w)));
  });

  test('the cache lives under $FORJA_CACHE when set', () => {
    const saved = process.env.FORJA_CACHE;
    process.env.FORJA_CACHE = '/somewhere';
    try {
      assert.equal(classifierCacheDir(), join('/somewhere', 'mnist-classifier'));
    } finally {
      if (saved === undefined) delete process.env.FORJA_CACHE;
      else process.env.FORJA_CACHE = saved;
    }
  });
});
