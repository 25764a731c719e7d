import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { schedules } from '../../src/index.js';

describe('schedules', () => {
  test('cosineDecay with linear warmup', () => {
    const lr = schedules.cosineDecay({ initialLearningRate: 0, warmupTarget: 1, warmupSteps: 10, decaySteps: 100, alpha: 0.1 });
    assert.equal(lr(0), 0);
    assert.equal(lr(5), 0.5);
    assert.equal(lr(10), 1);
    assert.ok(Math.abs(lr(60) - (0.9 * 0.5 * (1 + Math.cos(Math.PI * 0.5)) + 0.1)) < 1e-12);
    assert.ok(Math.abs(lr(110) - 0.1) < 1e-12);
    assert.ok(Math.abs(lr(500) - 0.1) < 1e-12);
    assert.equal(schedules.constant(0.3)(1234), 0.3);
  });

  test('bad arguments are rejected with the received value', () => {
    assert.throws(() => schedules.cosineDecay({ initialLearningRate: 1, decaySteps: 0 }), /decaySteps must be a positive integer, received 0/);
  });
});
