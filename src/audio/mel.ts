/**
 * The Slaney mel scale and the triangular filter bank transformers' `mel_filter_bank` builds for
 * Whisper (norm="slaney", mel_scale="slaney"; librosa's defaults): linear below 1 kHz, logarithmic
 * above, each triangle scaled to unit area. Computed in float64 as numpy does.
 */

const MIN_LOG_HERTZ = 1000;
const MIN_LOG_MEL = 15;
const LOG_STEP = Math.log(6.4) / 27;

export function hertzToMel(hz: number): number {
  return hz >= MIN_LOG_HERTZ ? MIN_LOG_MEL + Math.log(hz / MIN_LOG_HERTZ) / LOG_STEP : (3 * hz) / 200;
}

export function melToHertz(mel: number): number {
  return mel >= MIN_LOG_MEL ? MIN_LOG_HERTZ * Math.exp(LOG_STEP * (mel - MIN_LOG_MEL)) : (200 * mel) / 3;
}

/** numpy.linspace(start, stop, n). */
function linspace(start: number, stop: number, n: number): Float64Array {
  const out = new Float64Array(n);
  const step = (stop - start) / (n - 1);
  for (let i = 0; i < n; i++) out[i] = start + i * step;
  out[n - 1] = stop;
  return out;
}

export interface MelFilterOptions {
  /** FFT bins, n_fft / 2 + 1. */
  frequencyBins: number;
  melBins: number;
  sampleRate: number;
  minFrequency?: number;
  maxFrequency?: number;
}

/** Filters as [frequencyBins, melBins] row-major, the layout of transformers' `mel_filters`. */
export function melFilterBank({ frequencyBins, melBins, sampleRate, minFrequency = 0, maxFrequency = sampleRate / 2 }: MelFilterOptions): Float64Array {
  const mels = linspace(hertzToMel(minFrequency), hertzToMel(maxFrequency), melBins + 2);
  const edges = mels.map(melToHertz);
  // transformers uses sampling_rate // 2 here.
  const fft = linspace(0, Math.floor(sampleRate / 2), frequencyBins);
  const out = new Float64Array(frequencyBins * melBins);
  for (let m = 0; m < melBins; m++) {
    const [lo, mid, hi] = [edges[m]!, edges[m + 1]!, edges[m + 2]!];
    const norm = 2 / (hi - lo);
    for (let k = 0; k < frequencyBins; k++) {
      const down = (fft[k]! - lo) / (mid - lo);
      const up = (hi - fft[k]!) / (hi - mid);
      out[k * melBins + m] = Math.max(0, Math.min(down, up)) * norm;
    }
  }
  return out;
}
