import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { FeatureConfigError, featureConfigFromJson, WhisperFeatureExtractor } from '../../src/audio/features.js';
import { melFilterBank } from '../../src/audio/mel.js';
import { loadF32 } from '../../src/io/safetensors.js';
import { fixturePath } from '../helpers/fixtures.js';

const FIXTURE = fixturePath('whisper-tiny-random');
const preprocessor = JSON.parse(readFileSync(`${FIXTURE}/preprocessor_config.json`, 'utf8')) as Record<string, unknown>;

/** A float64 reference of one log-mel value straight from the definition (direct DFT, no FFT, no graph). */
function referenceLogMel(wave: Float32Array, frame: number, mel: number, filters: Float64Array): number {
  const nFft = 400;
  const padded = new Float64Array(480000 + nFft);
  for (let i = 0; i < Math.min(wave.length, 480000); i++) padded[200 + i] = wave[i]!;
  for (let i = 1; i <= 200; i++) {
    padded[200 - i] = padded[200 + i]!;
    padded[200 + 480000 - 1 + i] = padded[200 + 480000 - 1 - i]!;
  }
  let sum = 0;
  for (let k = 0; k <= 200; k++) {
    let re = 0;
    let im = 0;
    for (let n = 0; n < nFft; n++) {
      const x = padded[frame * 160 + n]! * (0.5 - 0.5 * Math.cos((2 * Math.PI * n) / nFft));
      re += x * Math.cos((2 * Math.PI * k * n) / nFft);
      im -= x * Math.sin((2 * Math.PI * k * n) / nFft);
    }
    sum += filters[k * 80 + mel]! * (re * re + im * im);
  }
  return Math.log10(Math.max(sum, 1e-10));
}

describe('audio/features', () => {
  let extractor: WhisperFeatureExtractor;
  let waveform: Float32Array;
  let expected: Float32Array;

  before(async () => {
    const golden = await loadF32(`${FIXTURE}/golden.safetensors`);
    waveform = golden.get('waveform')!.data;
    expected = golden.get('input_features')!.data;
    extractor = await WhisperFeatureExtractor.create(preprocessor);
  });
  after(() => extractor.release());

  it("matches WhisperFeatureExtractor's input_features of the fixture's waveform", async () => {
    const { data, dims } = await extractor.extract([waveform]);
    assert.deepEqual(dims, [1, 80, 3000]);
    let max = 0;
    let sum = 0;
    for (let i = 0; i < expected.length; i++) {
      const d = Math.abs(data[i]! - expected[i]!);
      max = Math.max(max, d);
      sum += d;
    }
    // Both sides compute a float32 DFT (torch's FFT, our 400-tap convolution): their rounding differs
    // by ~1e-7 of a frame's peak, which log10 magnifies only in bins far below the peak. Measured: max
    // 6.2e-5, mean 1.4e-8 (4 of 240,000 values over 1e-5).
    assert.ok(max < 2e-4, `max abs difference ${max}`);
    assert.ok(sum / expected.length < 1e-6, `mean abs difference ${sum / expected.length}`);
  });

  it('agrees with a float64 direct-DFT reference at spot values, padding region included', async () => {
    const { data } = await extractor.extract([waveform]);
    const filters = melFilterBank({ frequencyBins: 201, melBins: 80, sampleRate: 16000, maxFrequency: 8000 });
    // The clamp needs the window's maximum: take it from the graph's output, undo (x + 4) / 4.
    const floor = data.subarray(0, 80 * 3000).reduce((a, v) => Math.max(a, v * 4 - 4), -Infinity) - 8;
    for (const [frame, mel] of [[0, 0], [10, 40], [124, 79], [200, 5], [2999, 30]] as const) {
      const want = (Math.max(referenceLogMel(waveform, frame, mel, filters), floor) + 4) / 4;
      const got = data[mel * 3000 + frame]!;
      assert.ok(Math.abs(got - want) < 1e-4, `frame ${frame}, mel ${mel}: ${got} vs ${want}`);
    }
  });

  it('pads short windows with zeros and cuts long ones at 30 s, row by row in a batch', async () => {
    const long = new Float32Array(600000);
    long.set(waveform);
    for (let i = 480000; i < long.length; i++) long[i] = Math.sin(i);
    const { data, dims } = await extractor.extract([long, waveform]);
    assert.deepEqual(dims, [2, 80, 3000]);
    const plane = 80 * 3000;
    for (let i = 0; i < plane; i++) {
      // The padded and the cut window hold the same samples up to 30 s, except the reflect pad at the very end.
      if (i % 3000 < 2998) assert.ok(Math.abs(data[i]! - data[plane + i]!) < 1e-6, `value ${i}`);
    }
  });

  it('128 mel bins (large-v3) from feature_size; mel_filters from the file when it has them', async () => {
    const c128 = featureConfigFromJson({ ...preprocessor, feature_size: 128 });
    assert.equal(c128.melFilters.length, 201 * 128);
    const x128 = await WhisperFeatureExtractor.create(c128);
    try {
      const { dims } = await x128.extract([waveform]);
      assert.deepEqual(dims, [1, 128, 3000]);
    } finally {
      await x128.release();
    }
    const own = Array.from({ length: 201 }, (_, k) => Array.from({ length: 80 }, (_, m) => (k === m ? 1 : 0)));
    assert.equal(featureConfigFromJson({ ...preprocessor, mel_filters: own }).melFilters[81], 1);
    assert.throws(() => featureConfigFromJson({ mel_filters: [[1, 2]] }, 'p.json'), /p\.json: "mel_filters" must be 201 rows of 80 numbers/);
  });

  it('refuses configs it cannot honour, naming the key', () => {
    assert.throws(() => featureConfigFromJson({ feature_size: 0 }, 'p.json'), (e: unknown) => e instanceof FeatureConfigError && /p\.json: "feature_size" must be a positive integer, received 0/.test(e.message));
    assert.throws(() => featureConfigFromJson({ dither: 1e-5 }, 'p.json'), /"dither" = 0\.00001 is not supported/);
    assert.throws(() => featureConfigFromJson({ feature_extractor_type: 'Wav2Vec2FeatureExtractor' }), /is not WhisperFeatureExtractor/);
  });
});
