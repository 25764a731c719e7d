import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { optimizers } from '../../src/index.js';
import { clipped, close, reference, twoSteps } from '../helpers/optim.js';

describe('RMSprop: two steps against hand-written updates', () => {
  test('RMSprop: s ← ρs + (1 − ρ)g²; w ← w − ηg/√(s + ε)', async () => {
    const s = [0, 0, 0];
    close(await twoSteps(optimizers.rmsprop({ learningRate: 0.01 })), reference((w, g) => w.forEach((_, i) => {
      s[i] = 0.9 * s[i]! + 0.1 * g[i]! ** 2;
      w[i]! -= (0.01 * g[i]!) / Math.sqrt(s[i]! + 1e-7);
    })));
  });

  test('RMSprop centered with momentum', async () => {
    const s = [0, 0, 0];
    const avg = [0, 0, 0];
    const m = [0, 0, 0];
    close(await twoSteps(optimizers.rmsprop({ learningRate: 0.01, momentum: 0.5, centered: true })), reference((w, g) => w.forEach((_, i) => {
      s[i] = 0.9 * s[i]! + 0.1 * g[i]! ** 2;
      avg[i] = 0.9 * avg[i]! + 0.1 * g[i]!;
      m[i] = 0.5 * m[i]! + (0.01 * g[i]!) / Math.sqrt(s[i]! - avg[i]! ** 2 + 1e-7);
      w[i]! -= m[i]!;
    })), 1e-5);
  });

  test('RMSprop centered with momentum and clipNorm: every use of g sees the clipped gradient', async () => {
    const s = [0, 0, 0];
    const avg = [0, 0, 0];
    const m = [0, 0, 0];
    const got = await twoSteps(optimizers.rmsprop({ learningRate: 0.01, momentum: 0.5, centered: true, clipNorm: 2 }));
    close(got, reference((w, raw) => {
      const g = clipped(raw, 2);
      w.forEach((_, i) => {
        s[i] = 0.9 * s[i]! + 0.1 * g[i]! ** 2;
        avg[i] = 0.9 * avg[i]! + 0.1 * g[i]!;
        m[i] = 0.5 * m[i]! + (0.01 * g[i]!) / Math.sqrt(s[i]! - avg[i]! ** 2 + 1e-7);
        w[i]! -= m[i]!;
      });
    }), 1e-5);
  });

  test('rho and momentum out of range are refused with the received value', () => {
    assert.throws(() => optimizers.rmsprop({ rho: 1 }), /RMSprop: rho must be in \[0, 1\)\. Received: rho=1/);
    assert.throws(() => optimizers.rmsprop({ momentum: -0.1 }), /RMSprop: momentum must be in \[0, 1\]\. Received: momentum=-0\.1/);
  });
});
