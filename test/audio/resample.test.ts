import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resample, Resampler, type ResampleQuality } from '../../src/audio/resample.js';

/** A linear sweep from f0 to f1 Hz over `seconds`, sampled at `rate`: sin(2π(f0·t + (f1 − f0)·t²/(2T))). */
function sweep(rate: number, seconds: number, f0: number, f1: number, amplitude = 0.5): Float32Array {
  const n = Math.round(rate * seconds);
  return Float32Array.from({ length: n }, (_, i) => {
    const t = i / rate;
    return amplitude * Math.sin(2 * Math.PI * (f0 * t + ((f1 - f0) * t * t) / (2 * seconds)));
  });
}

const db = (ratio: number): number => 20 * Math.log10(ratio);

function rms(x: Float32Array, from = 0, to = x.length): number {
  let s = 0;
  for (let i = from; i < to; i++) s += x[i]! * x[i]!;
  return Math.sqrt(s / (to - from));
}

/** Amplitude of the tone at f in x (sampled at rate), by least squares on sin and cos, away from the edges. */
function toneAmplitude(x: Float32Array, rate: number, f: number): number {
  let ss = 0;
  let cc = 0;
  const edge = 2000;
  for (let i = edge; i < x.length - edge; i++) {
    ss += x[i]! * Math.sin((2 * Math.PI * f * i) / rate);
    cc += x[i]! * Math.cos((2 * Math.PI * f * i) / rate);
  }
  const n = x.length - 2 * edge;
  return (2 / n) * Math.hypot(ss, cc);
}

const tone = (rate: number, f: number, seconds = 1): Float32Array =>
  Float32Array.from({ length: Math.round(rate * seconds) }, (_, i) => Math.sin((2 * Math.PI * f * i) / rate));

describe('audio/resample', () => {
  it('a sweep inside the passband comes out as the same sweep sampled at 16 kHz (no delay, no ripple)', async () => {
    for (const inRate of [22050, 44100, 48000]) {
      const out = await resample(sweep(inRate, 2, 50, 6500), inRate, 16000);
      const ideal = sweep(16000, 2, 50, 6500);
      assert.equal(out.length, ideal.length, `${inRate}: exact length`);
      const err = Float32Array.from(out, (v, i) => v - ideal[i]!);
      // Away from the first and last 10 ms, where the filter sees the signal start and stop.
      const snr = db(rms(ideal, 160, ideal.length - 160) / rms(err, 160, err.length - 160));
      assert.ok(snr > 60, `${inRate} Hz: sweep error ${snr.toFixed(1)} dB below the signal, expected > 60 dB`);
    }
  });

  it('passband flatness: tones up to 7 kHz keep their amplitude within 0.3 dB (medium), 0.01 dB to 7.5 kHz (best)', async () => {
    const limits: [ResampleQuality, number, number][] = [
      ['medium', 7000, 0.3],
      ['best', 7500, 0.01],
    ];
    for (const [quality, top, tolerance] of limits) {
      for (let f = 100; f <= top; f += 700) {
        const amplitude = toneAmplitude(await resample(tone(22050, f), 22050, 16000, quality), 16000, f);
        assert.ok(Math.abs(db(amplitude)) < tolerance, `${quality} ${f} Hz: ${db(amplitude).toFixed(3)} dB`);
      }
    }
  });

  it('aliasing: a sweep from 8.2 to 11 kHz (above the new Nyquist) is attenuated by more than 110 dB', async () => {
    for (const [inRate, quality, floor] of [[22050, 'medium', 110], [44100, 'medium', 110], [22050, 'best', 140]] as const) {
      const input = sweep(inRate, 2, 8200, 11000);
      const out = await resample(input, inRate, 16000, quality);
      const attenuation = -db(rms(out, 800, out.length - 800) / rms(input));
      assert.ok(attenuation > floor, `${inRate} Hz ${quality}: ${attenuation.toFixed(1)} dB, expected > ${floor}`);
    }
  });

  it('streaming in uneven blocks gives the one-shot output, with the exact total length', async () => {
    const input = sweep(22050, 1.3, 100, 5000);
    const whole = await resample(input, 22050, 16000);
    const r = await Resampler.create(22050, 16000);
    const parts: Float32Array[] = [];
    for (let at = 0, size = 1; at < input.length; at += size, size = (size * 7 + 3) % 5000) parts.push(r.push(input.subarray(at, at + size)));
    parts.push(r.flush());
    const streamed = Float32Array.from(parts.flatMap((p) => Array.from(p)));
    assert.equal(streamed.length, Math.round((input.length * 16000) / 22050));
    assert.equal(streamed.length, whole.length);
    let max = 0;
    for (let i = 0; i < whole.length; i++) max = Math.max(max, Math.abs(whole[i]! - streamed[i]!));
    // libsamplerate's state carries across calls; only float32 rounding differs.
    assert.ok(max < 1e-5, `streamed vs one-shot: ${max}`);
  });

  it('refuses bad rates and qualities with the value received', async () => {
    await assert.rejects(Resampler.create(0, 16000), /inRate must be a positive number of Hz, received 0/);
    await assert.rejects(Resampler.create(16000, Number.NaN), /outRate must be a positive number of Hz, received NaN/);
    await assert.rejects(Resampler.create(1, 16000), /ratio of 16000, outside libsamplerate's 1\/256..256/);
    await assert.rejects(Resampler.create(22050, 16000, 'great' as ResampleQuality), /quality must be one of best, medium, fastest, received great/);
    const r = await Resampler.create(22050, 16000);
    r.flush();
    assert.throws(() => r.push(new Float32Array(4)), /push after flush/);
  });
});
