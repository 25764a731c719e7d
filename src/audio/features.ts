/**
 * Whisper's log-mel features (transformers' WhisperFeatureExtractor) as one ONNX graph: each window
 * is zero-padded or cut to chunk_length seconds, reflect-padded by n_fft/2 (torch.stft's
 * center=True), framed, Hann-windowed and transformed by one strided convolution whose kernels are
 * the windowed DFT basis (rows cos and −sin of bins 0..n_fft/2), squared to power, the last frame
 * dropped, projected on the Slaney mel filters, floored at 1e-10, log10'd, clamped to 8 decades
 * below the window's maximum, and scaled as (x + 4) / 4.
 */
import type ort from 'onnxruntime-node';
import { trace } from '../core/graph.js';
import * as F from '../core/ops/index.js';
import { CompiledGraph, float32 } from '../runtime/session.js';
import { melFilterBank } from './mel.js';

/** The parts of preprocessor_config.json the features depend on. */
export interface FeatureExtractorConfig {
  /** Mel bins (80, or 128 for large-v3). */
  featureSize: number;
  samplingRate: number;
  hopLength: number;
  nFft: number;
  /** Seconds per window. */
  chunkLength: number;
  /** chunkLength · samplingRate. */
  nSamples: number;
  /** nSamples / hopLength. */
  nbMaxFrames: number;
  paddingValue: number;
  /** [nFft/2 + 1, featureSize] row-major: from the file when it has them, else Slaney's. */
  melFilters: Float32Array;
}

export class FeatureConfigError extends Error {
  override name = 'FeatureConfigError';
}

type Json = Readonly<Record<string, unknown>>;

function positiveInt(json: Json, key: string, fallback: number, where: string): number {
  const v = json[key] ?? fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) throw new FeatureConfigError(`${where}: "${key}" must be a positive integer, received ${JSON.stringify(json[key])}`);
  return v;
}

/** transformers' WhisperFeatureExtractor defaults, overridden by `json` (preprocessor_config.json). */
export function featureConfigFromJson(json: Json = {}, where = 'preprocessor_config.json'): FeatureExtractorConfig {
  const type = json.feature_extractor_type;
  if (type !== undefined && type !== 'WhisperFeatureExtractor') throw new FeatureConfigError(`${where}: feature_extractor_type "${String(type)}" is not WhisperFeatureExtractor`);
  const featureSize = positiveInt(json, 'feature_size', 80, where);
  const samplingRate = positiveInt(json, 'sampling_rate', 16000, where);
  const hopLength = positiveInt(json, 'hop_length', 160, where);
  const nFft = positiveInt(json, 'n_fft', 400, where);
  const chunkLength = positiveInt(json, 'chunk_length', 30, where);
  const nSamples = chunkLength * samplingRate;
  const dither = json.dither ?? 0;
  if (dither !== 0) throw new FeatureConfigError(`${where}: "dither" = ${JSON.stringify(dither)} is not supported (Forja's features are deterministic; use 0.0)`);
  const paddingValue = json.padding_value ?? 0;
  if (typeof paddingValue !== 'number') throw new FeatureConfigError(`${where}: "padding_value" must be a number, received ${JSON.stringify(paddingValue)}`);
  const bins = nFft / 2 + 1;
  return {
    featureSize,
    samplingRate,
    hopLength,
    nFft,
    chunkLength,
    nSamples,
    nbMaxFrames: Math.floor(nSamples / hopLength),
    paddingValue,
    melFilters: json.mel_filters === undefined ? Float32Array.from(melFilterBank({ frequencyBins: bins, melBins: featureSize, sampleRate: samplingRate, maxFrequency: 8000 })) : melFiltersOf(json.mel_filters, bins, featureSize, where),
  };
}

function melFiltersOf(value: unknown, bins: number, mels: number, where: string): Float32Array {
  const ok = Array.isArray(value) && value.length === bins && value.every((row) => Array.isArray(row) && row.length === mels && row.every((x) => typeof x === 'number'));
  if (!ok) throw new FeatureConfigError(`${where}: "mel_filters" must be ${bins} rows of ${mels} numbers (n_fft/2 + 1 by feature_size)`);
  return Float32Array.from((value as number[][]).flat());
}

/** [2·bins, 1, 1, nFft]: the Hann-windowed cos rows, then the −sin rows. */
function dftKernel(nFft: number): Float32Array {
  const bins = nFft / 2 + 1;
  const out = new Float32Array(2 * bins * nFft);
  for (let n = 0; n < nFft; n++) {
    const w = 0.5 - 0.5 * Math.cos((2 * Math.PI * n) / nFft); // periodic Hann, torch.hann_window
    for (let k = 0; k < bins; k++) {
      // (k·n) mod nFft keeps the angle small, so cos/sin stay exact to float64.
      const angle = (2 * Math.PI * ((k * n) % nFft)) / nFft;
      out[k * nFft + n] = w * Math.cos(angle);
      out[(bins + k) * nFft + n] = -w * Math.sin(angle);
    }
  }
  return out;
}

const LOG10_E = 1 / Math.LN10;

function featureGraph(c: FeatureExtractorConfig) {
  const bins = c.nFft / 2 + 1;
  return trace((g) => {
    const padded = g.input('padded_waveform', ['batch_size', 1, 1, c.nSamples + c.nFft]);
    const kernel = g.constant(dftKernel(c.nFft), [2 * bins, 1, 1, c.nFft], 'float32');
    const spectrum = F.conv2d(padded, kernel, null, { strides: [1, c.hopLength] }); // (B, 2F, 1, frames + 1)
    const parts = F.reshape(spectrum, [-1, 2, bins, c.nbMaxFrames + 1]); // (B, re|im, F, frames + 1)
    const power = F.slice(F.sum(F.square(parts), [1]), [0], [c.nbMaxFrames], [2]); // (B, F, frames)
    const melT = g.constant(transposed(c.melFilters, bins, c.featureSize), [c.featureSize, bins], 'float32');
    const mel = F.matmul(melT, power); // (B, mels, frames)
    const log = F.mul(F.log(F.maximum(mel, 1e-10)), LOG10_E);
    const clamped = F.maximum(log, F.sub(F.max(log, [1, 2], true), 8));
    const features = F.mul(F.add(clamped, 4), 0.25);
    return { graph: g, inputs: [padded], outputs: { input_features: features }, variables: 'initializers' as const, name: 'whisper_features' };
  });
}

function transposed(a: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(a.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = a[r * cols + c]!;
  return out;
}

/** The window cut or padded to nSamples, then reflect-padded by nFft/2 on both sides, into `out`. */
function padWindow(samples: Float32Array, c: FeatureExtractorConfig, out: Float32Array): void {
  const half = c.nFft / 2;
  const n = Math.min(samples.length, c.nSamples);
  const body = out.subarray(half, half + c.nSamples);
  body.set(samples.subarray(0, n));
  body.fill(c.paddingValue, n);
  // numpy/torch 'reflect': the edge sample itself is not repeated.
  for (let i = 1; i <= half; i++) {
    out[half - i] = body[i]!;
    out[half + c.nSamples - 1 + i] = body[c.nSamples - 1 - i]!;
  }
}

export interface Features {
  /** [batch, featureSize, nbMaxFrames] row-major. */
  data: Float32Array;
  dims: [number, number, number];
}

/** Compiled once; `extract` turns windows of 16 kHz mono samples into input_features. */
export class WhisperFeatureExtractor {
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    readonly config: FeatureExtractorConfig,
    private readonly graph: CompiledGraph,
  ) {}

  static async create(config: FeatureExtractorConfig | Json = {}): Promise<WhisperFeatureExtractor> {
    const c = 'melFilters' in config && config.melFilters instanceof Float32Array ? (config as FeatureExtractorConfig) : featureConfigFromJson(config as Json);
    return new WhisperFeatureExtractor(c, await CompiledGraph.compile(featureGraph(c)));
  }

  /** One window per row; longer windows are cut to chunk_length seconds (as transformers truncates). */
  async extract(windows: readonly Float32Array[]): Promise<Features> {
    const c = this.config;
    if (windows.length === 0) throw new RangeError('WhisperFeatureExtractor.extract: no windows given');
    const width = c.nSamples + c.nFft;
    const input = new Float32Array(windows.length * width);
    windows.forEach((w, i) => padWindow(w, c, input.subarray(i * width, (i + 1) * width)));
    const feeds: Record<string, ort.Tensor> = { padded_waveform: float32(input, [windows.length, 1, 1, width]) };
    // CompiledGraph reuses one feed record, so runs must not overlap.
    const run = this.queue.then(() => this.graph.run(feeds));
    this.queue = run.catch(() => undefined);
    const out = (await run).input_features!;
    return { data: out.data as Float32Array, dims: [windows.length, c.featureSize, c.nbMaxFrames] };
  }

  async release(): Promise<void> {
    await this.graph.release();
  }
}
