import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ddimTimesteps, NoiseSchedule, sampleDdim, sampleDdpm, DEFAULT_SCHEDULE, type NoisePredictor } from '../../../../src/models/mnist/diffusion/schedule.js';

const close = (a: number, b: number, rel: number, what: string): void => assert.ok(Math.abs(a - b) <= rel * Math.abs(b), `${what}: ${a} vs ${b}`);

/** The exact ε for data that is always the image `c`: x_t = √ᾱ·c + √(1 − ᾱ)·ε. */
function pointMass(schedule: NoiseSchedule, c: Float32Array, calls: { labels: bigint[]; rows: number }[] = []): NoisePredictor {
  return async (x, t, labels, rows) => {
    calls.push({ labels: Array.from(labels), rows });
    const a = schedule.alphasCumprod[t]!;
    return x.map((v, i) => (v - Math.sqrt(a) * c[i % c.length]!) / Math.sqrt(1 - a));
  };
}

describe('NoiseSchedule', () => {
  test('ᾱ_t is the running product of 1 − β_t: β 0.1, 0.2, 0.3 give 0.9, 0.72, 0.504', () => {
    const s = new NoiseSchedule({ timesteps: 3, betaStart: 0.1, betaEnd: 0.3 });
    [0.1, 0.2, 0.3].forEach((b, i) => close(s.betas[i]!, b, 1e-12, `β_${i}`));
    [0.9, 0.72, 0.504].forEach((a, i) => close(s.alphasCumprod[i]!, a, 1e-12, `ᾱ_${i}`));
    close(s.snr(1), 0.72 / 0.28, 1e-12, 'SNR_1');
  });

  test("DDPM's linear schedule: ᾱ_0 = 1 − 1e-4, ᾱ_999 = exp(Σ log(1 − β_t)) ≈ 4.036e-5", () => {
    const s = new NoiseSchedule(DEFAULT_SCHEDULE);
    close(s.alphasCumprod[0]!, 1 - 1e-4, 1e-12, 'ᾱ_0');
    // Σ log(1 − β) for β_t = 1e-4 + (0.02 − 1e-4)·t/999, summed in closed form up to β⁴ terms.
    let logSum = 0;
    for (let t = 0; t < 1000; t++) {
      const b = 1e-4 + ((0.02 - 1e-4) * t) / 999;
      logSum -= b + b ** 2 / 2 + b ** 3 / 3 + b ** 4 / 4;
    }
    close(s.alphasCumprod[999]!, Math.exp(logSum), 1e-6, 'ᾱ_999');
    close(s.alphasCumprod[999]!, 4.0358e-5, 1e-3, 'ᾱ_999 (published)');
  });

  test('addNoise mixes √ᾱ·x₀ + √(1 − ᾱ)·ε into a row of the batch', () => {
    const s = new NoiseSchedule({ timesteps: 3, betaStart: 0.1, betaEnd: 0.3 });
    const out = new Float32Array(4).fill(7);
    s.addNoise(Float32Array.of(1, -1), Float32Array.of(0.5, 2), 2, out, 2);
    assert.deepEqual(Array.from(out.subarray(0, 2)), [7, 7]);
    close(out[2]!, Math.sqrt(0.504) + Math.sqrt(0.496) * 0.5, 1e-6, 'pixel 0');
    close(out[3]!, -Math.sqrt(0.504) + Math.sqrt(0.496) * 2, 1e-6, 'pixel 1');
  });

  test('bad settings are refused', () => {
    assert.throws(() => new NoiseSchedule({ timesteps: 1, betaStart: 0.1, betaEnd: 0.2 }), /timesteps must be an integer ≥ 2/);
    assert.throws(() => new NoiseSchedule({ timesteps: 10, betaStart: 0.3, betaEnd: 0.2 }), /0 < betaStart ≤ betaEnd < 1/);
  });
});

describe('ddimTimesteps', () => {
  test('evenly spaced from T − 1 down', () => {
    assert.deepEqual(ddimTimesteps(1000, 4), [999, 749, 499, 249]);
    assert.deepEqual(ddimTimesteps(10, 10), [9, 8, 7, 6, 5, 4, 3, 2, 1, 0]);
    assert.equal(ddimTimesteps(1000, 25).at(-1), 39);
    assert.throws(() => ddimTimesteps(10, 11), /steps must be an integer in \[1, 10\], received 11/);
  });
});

describe('samplers', () => {
  const schedule = new NoiseSchedule(DEFAULT_SCHEDULE);
  const c = Float32Array.of(0.5, -0.25, 0.9, -1);
  const base = { labels: [3, 7], nullClass: 10, guidance: 1, seed: 5, pixels: 4 };

  for (const steps of [1, 10, 50]) {
    test(`DDIM with the exact ε of a point mass lands on it (${steps} steps)`, async () => {
      const x = await sampleDdim(schedule, pointMass(schedule, c), { ...base, steps });
      x.forEach((v, i) => assert.ok(Math.abs(v - c[i % 4]!) < 1e-4, `pixel ${i}: ${v} vs ${c[i % 4]}`));
    });
  }

  test('DDPM with the exact ε of a point mass lands on it, through 1,000 noisy steps', async () => {
    let steps = 0;
    const x = await sampleDdpm(schedule, pointMass(schedule, c), { ...base, onStep: () => void steps++ });
    assert.equal(steps, 1000);
    x.forEach((v, i) => assert.ok(Math.abs(v - c[i % 4]!) < 1e-4, `pixel ${i}: ${v} vs ${c[i % 4]}`));
  });

  test('DDIM with eta 0 is deterministic given the seed; another seed or eta > 0 changes it', async () => {
    // A predictor that does not know the data, so the start noise shows in the result.
    const model: NoisePredictor = async (x) => x.map((v) => 0.3 * v);
    const run = (seed: number, eta = 0) => sampleDdim(schedule, model, { ...base, seed, steps: 20, eta });
    assert.deepEqual(await run(5), await run(5));
    assert.notDeepEqual(await run(5), await run(6));
    assert.notDeepEqual(await run(5, 0.5), await run(5));
    assert.deepEqual(await run(5, 0.5), await run(5, 0.5));
  });

  test('guidance: w 1 asks for the classes only, w 0 for the null class only, w > 1 for both in one call, and extrapolates', async () => {
    const calls: { labels: bigint[]; rows: number }[] = [];
    const model = pointMass(schedule, c, calls);
    await sampleDdim(schedule, model, { ...base, steps: 1 });
    await sampleDdim(schedule, model, { ...base, steps: 1, guidance: 0 });
    await sampleDdim(schedule, model, { ...base, steps: 1, guidance: 3 });
    assert.deepEqual(calls, [
      { labels: [3n, 7n], rows: 2 },
      { labels: [10n, 10n], rows: 2 },
      { labels: [3n, 7n, 10n, 10n], rows: 4 },
    ]);
    // ε_u + w(ε_c − ε_u): if ε_c is the point mass's ε plus δ, one step lands at x₀ − w·δ·√(1−ᾱ)/√ᾱ.
    const delta = 1e-3;
    const exact = pointMass(schedule, Float32Array.of(0));
    const shifted: NoisePredictor = async (x, t, labels, rows) => (await exact(x, t, labels, rows)).map((e, i) => e + (labels[i]! === 10n ? 0 : delta));
    const k = Math.sqrt(1 - schedule.alphasCumprod[999]!) / Math.sqrt(schedule.alphasCumprod[999]!);
    for (const w of [0, 1, 3]) {
      const [x] = await sampleDdim(schedule, shifted, { ...base, labels: [1], pixels: 1, steps: 1, guidance: w });
      assert.ok(Math.abs(x! - -w * delta * k) < 1e-4, `w ${w}: ${x} vs ${-w * delta * k}`);
    }
  });

  test('a negative or non-finite guidance is refused', async () => {
    const model = pointMass(schedule, c);
    await assert.rejects(sampleDdim(schedule, model, { ...base, steps: 2, guidance: -1 }), /guidance must be a finite number ≥ 0, received -1/);
    await assert.rejects(sampleDdpm(schedule, model, { ...base, guidance: Number.NaN }), /guidance must be a finite number ≥ 0, received NaN/);
    await assert.rejects(sampleDdim(schedule, model, { ...base, steps: 2, eta: 2 }), /eta must be in \[0, 1\], received 2/);
  });
});
