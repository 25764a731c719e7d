/**
 * Sample-rate conversion through libsamplerate (Secret Rabbit Code, as WebAssembly in
 * @alexanderolsen/libsamplerate-js): a band-limited windowed-sinc interpolator with an anti-alias
 * low-pass at the lower of the two Nyquist frequencies. Its delay is compensated, so output sample
 * j sits at time j / outRate. Measured by test/audio/resample.test.ts, 22.05/44.1 kHz → 16 kHz:
 * 'medium' (the default) is flat to 0.3 dB up to 7 kHz and attenuates what would alias by ≥ 120 dB;
 * 'best' is flat to 7.5 kHz at ≥ 145 dB, about 5× slower.
 */
import { createRequire } from 'node:module';

type Lib = typeof import('@alexanderolsen/libsamplerate-js');
type Src = Awaited<ReturnType<Lib['create']>>;
const lib = createRequire(import.meta.url)('@alexanderolsen/libsamplerate-js') as Lib;

export type ResampleQuality = 'best' | 'medium' | 'fastest';
const CONVERTERS: Readonly<Record<ResampleQuality, 0 | 1 | 2>> = { best: 0, medium: 1, fastest: 2 };

/** Input frames per call into WebAssembly (the library splits larger calls itself, allocating). */
const BLOCK = 1 << 16;

/**
 * A streaming mono resampler: `push` blocks in, `flush` at the end. The concatenated output has
 * exactly round(inputFrames · outRate / inRate) samples.
 */
export class Resampler {
  private inputFrames = 0;
  private outputFrames = 0;
  private flushed = false;

  private constructor(
    private readonly src: Src,
    readonly inRate: number,
    readonly outRate: number,
  ) {}

  static async create(inRate: number, outRate: number, quality: ResampleQuality = 'medium'): Promise<Resampler> {
    for (const [name, rate] of [['inRate', inRate], ['outRate', outRate]] as const) {
      if (!(Number.isFinite(rate) && rate > 0)) throw new RangeError(`Resampler: ${name} must be a positive number of Hz, received ${rate}`);
    }
    if (!(quality in CONVERTERS)) throw new RangeError(`Resampler: quality must be one of ${Object.keys(CONVERTERS).join(', ')}, received ${String(quality)}`);
    const ratio = outRate / inRate;
    // libsamplerate's limits on the conversion ratio.
    if (ratio > 256 || ratio < 1 / 256) throw new RangeError(`Resampler: ${inRate} Hz → ${outRate} Hz is a ratio of ${ratio}, outside libsamplerate's 1/256..256`);
    return new Resampler(await lib.create(1, inRate, outRate, { converterType: CONVERTERS[quality] }), inRate, outRate);
  }

  /** Resampled audio for `block`; may hold back a few samples (the filter's delay) until later blocks or flush. */
  push(block: Float32Array): Float32Array {
    if (this.flushed) throw new Error('Resampler: push after flush');
    this.inputFrames += block.length;
    const parts: Float32Array[] = [];
    for (let at = 0; at < block.length; at += BLOCK) parts.push(this.src.full(block.subarray(at, at + BLOCK)));
    return this.emit(concat(parts));
  }

  /** The held-back tail, trimmed so the whole output has its exact length; frees the converter. */
  flush(): Float32Array {
    if (this.flushed) return new Float32Array(0);
    this.flushed = true;
    const expected = Math.round((this.inputFrames * this.outRate) / this.inRate);
    const parts: Float32Array[] = [];
    let produced = this.outputFrames;
    // Zeros push the filter's last input through; a few filter lengths always suffice.
    for (let rounds = 0; produced < expected && rounds < 64; rounds++) {
      const out = this.src.full(new Float32Array(4096));
      parts.push(out);
      produced += out.length;
    }
    this.src.destroy();
    return this.emit(concat(parts));
  }

  private emit(out: Float32Array): Float32Array {
    // Never past the exact length: after flush's zeros, or when the converter rounds up early.
    const limit = this.flushed ? Math.round((this.inputFrames * this.outRate) / this.inRate) : Infinity;
    const kept = out.length > limit - this.outputFrames ? out.subarray(0, Math.max(0, limit - this.outputFrames)) : out;
    this.outputFrames += kept.length;
    return kept;
  }
}

function concat(parts: readonly Float32Array[]): Float32Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** All of `samples` from `inRate` to `outRate` (a copy when the rates are equal). */
export async function resample(samples: Float32Array, inRate: number, outRate: number, quality: ResampleQuality = 'medium'): Promise<Float32Array> {
  if (inRate === outRate) return samples.slice();
  const r = await Resampler.create(inRate, outRate, quality);
  return concat([r.push(samples), r.flush()]);
}
