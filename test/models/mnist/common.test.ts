import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../../src/core/rng.js';
import { epochSeed } from '../../../src/data/index.js';
import { binaryCrossentropyMean, imageBatch, NoiseSource, sampleNoise } from '../../../src/models/mnist/common.js';

test('binaryCrossentropyMean matches Keras clipping by hand, and refuses unequal lengths', () => {
  const eps = 1e-7;
  // y=1,p=0.8: -log(0.8+ε); y=0,p=0.25: -log(0.75+ε); y=1,p=0 is clipped to ε: -log(2ε).
  const expected = -(Math.log(0.8 + eps) + Math.log(0.75 + eps) + Math.log(2 * eps)) / 3;
  assert.ok(Math.abs(binaryCrossentropyMean(Float32Array.of(1, 0, 1), Float32Array.of(0.8, 0.25, 0)) - expected) < 1e-6);
  assert.equal(binaryCrossentropyMean(new Float32Array(0), new Float32Array(0)), 0);
  assert.throws(() => binaryCrossentropyMean(new Float32Array(2), new Float32Array(3)), (e: Error) => e instanceof RangeError && /2 targets but 3 predictions/.test(e.message));
});

test('NoiseSource restarts each epoch from (seed, epoch), and sampleNoise is seeded', () => {
  const noise = new NoiseSource(9);
  noise.startEpoch(2);
  const a = noise.next(2, 3);
  assert.deepEqual(a.shape, [2, 3]);
  const ref = new Rng(epochSeed(9, 2));
  assert.deepEqual([...a.data], [...Float32Array.from({ length: 6 }, () => ref.normal())]);
  // The stream continues, then a restart replays it.
  assert.notDeepEqual([...noise.next(2, 3).data], [...a.data]);
  noise.startEpoch(2);
  assert.deepEqual([...noise.next(2, 3).data], [...a.data]);
  assert.deepEqual([...sampleNoise(4, 2, 5).data], [...sampleNoise(4, 2, 5).data]);
  const r5 = new Rng(5);
  assert.deepEqual([...sampleNoise(1, 2, 5).data], [...Float32Array.of(r5.normal(), r5.normal())]);
});

test('imageBatch views the first rows without copying', () => {
  const images = Float32Array.from({ length: 784 * 3 }, (_, i) => i);
  const b = imageBatch(images, 2, [28, 28, 1]);
  assert.deepEqual(b.shape, [2, 28, 28, 1]);
  assert.equal(b.data.buffer, images.buffer);
  assert.equal(b.data.length, 784 * 2);
  assert.equal(b.data[784], 784);
});
