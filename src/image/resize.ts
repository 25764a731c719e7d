/**
 * Resampling as Pillow's Image.resize does it on 8-bit RGB (libImaging/Resample.c, Geometry.c), so
 * that pixel values match transformers' PIL-based image processors: a separable convolution whose
 * support widens with the downscale factor (antialiasing), coefficients normalised and rounded to
 * 22-bit fixed point, a horizontal pass rounded to 8 bits, then a vertical pass. NEAREST is Pillow's
 * affine scale (pixel centres, accumulated in double).
 */
import type { RgbImage } from './types.js';

export type Resample = 'nearest' | 'box' | 'bilinear' | 'hamming' | 'bicubic' | 'lanczos';

/** PIL.Image.Resampling values, as preprocessor_config.json stores "resample". */
export const PIL_RESAMPLE: Readonly<Record<number, Resample>> = { 0: 'nearest', 1: 'lanczos', 2: 'bilinear', 3: 'bicubic', 4: 'box', 5: 'hamming' };

interface Filter {
  support: number;
  weight(x: number): number;
}

const sinc = (x: number): number => (x === 0 ? 1 : Math.sin(x * Math.PI) / (x * Math.PI));
// Pillow writes these two constants as C floats.
const HAMMING_A = Math.fround(0.54);
const HAMMING_B = Math.fround(0.46);

const FILTERS: Readonly<Record<Exclude<Resample, 'nearest'>, Filter>> = {
  box: { support: 0.5, weight: (x) => (x > -0.5 && x <= 0.5 ? 1 : 0) },
  bilinear: { support: 1, weight: (x) => (Math.abs(x) < 1 ? 1 - Math.abs(x) : 0) },
  hamming: {
    support: 1,
    weight: (x) => {
      const a = Math.abs(x);
      if (a === 0) return 1;
      if (a >= 1) return 0;
      return (Math.sin(a * Math.PI) / (a * Math.PI)) * (HAMMING_A + HAMMING_B * Math.cos(a * Math.PI));
    },
  },
  bicubic: {
    support: 2,
    weight: (x) => {
      const a = Math.abs(x);
      const c = -0.5;
      if (a < 1) return ((c + 2) * a - (c + 3)) * a * a + 1;
      if (a < 2) return (((a - 5) * a + 8) * a - 4) * c;
      return 0;
    },
  },
  lanczos: { support: 3, weight: (x) => (x >= -3 && x < 3 ? sinc(x) * sinc(x / 3) : 0) },
};

const PRECISION_BITS = 32 - 8 - 2;
const ONE = 2 ** PRECISION_BITS;

interface Coefficients {
  /** Taps per output sample. */
  ksize: number;
  /** First input index of each output sample. */
  start: Int32Array;
  /** Taps actually used by each output sample. */
  count: Int32Array;
  /** ksize fixed-point weights per output sample. */
  weights: Int32Array;
}

/** Resample.c's precompute_coeffs + normalize_coeffs_8bpc for inSize → outSize. */
function coefficients(inSize: number, outSize: number, filter: Filter): Coefficients {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = filter.support * filterScale;
  const ksize = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Int32Array(outSize * ksize);
  const k = new Float64Array(ksize);
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    // C's (int) cast truncates toward zero.
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const xmax = Math.min(Math.trunc(center + support + 0.5), inSize) - xmin;
    let sum = 0;
    for (let x = 0; x < xmax; x++) {
      k[x] = filter.weight((x + xmin - center + 0.5) / filterScale);
      sum += k[x]!;
    }
    for (let x = 0; x < ksize; x++) {
      const w = x < xmax ? (sum !== 0 ? k[x]! / sum : k[x]!) : 0;
      weights[xx * ksize + x] = w < 0 ? Math.trunc(-0.5 + w * ONE) : Math.trunc(0.5 + w * ONE);
    }
    start[xx] = xmin;
    count[xx] = xmax;
  }
  return { ksize, start, count, weights };
}

/** One 8-bit result from a fixed-point sum (clip8 of Resample.c); the sums stay below 2³¹, so int32 shifts are exact. */
const clip8 = (ss: number): number => {
  const v = ss >> PRECISION_BITS;
  return v < 0 ? 0 : v > 255 ? 255 : v;
};

/** A rectangle of an image: columns left … left + width − 1, rows top … top + height − 1. */
export interface Window {
  left: number;
  top: number;
  width: number;
  height: number;
}

/**
 * Resize to width × height with a Pillow filter. With `window`, only that rectangle of the resized
 * image is computed and returned (a center crop costs no resampling of what it drops); each pixel
 * is the one the whole resize would give.
 */
export function resize(image: RgbImage, width: number, height: number, resample: Resample, window?: Window): RgbImage {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new RangeError(`resize: the size must be positive integers, received ${width}×${height}`);
  }
  const w = window ?? { left: 0, top: 0, width, height };
  const inside = [w.left, w.top, w.width, w.height].every(Number.isInteger) && w.left >= 0 && w.top >= 0 && w.width >= 1 && w.height >= 1;
  if (!inside || w.left + w.width > width || w.top + w.height > height) {
    throw new RangeError(`resize: the window ${w.width}×${w.height} at (${w.left}, ${w.top}) is not inside the ${width}×${height} result`);
  }
  if (resample === 'nearest') return nearest(image, width, height, w);
  const filter = FILTERS[resample];
  if (!filter) throw new RangeError(`resize: unknown resample "${String(resample)}" (known: nearest, ${Object.keys(FILTERS).join(', ')})`);
  const columns = width === image.width ? undefined : within(coefficients(image.width, width, filter), w.left, w.width);
  const rows = height === image.height ? undefined : within(coefficients(image.height, height, filter), w.top, w.height);
  // Only the input rows the vertical pass reads (or the window's own rows when there is none).
  const first = rows ? rows.start[0]! : w.top;
  const last = rows ? rows.start[w.height - 1]! + rows.count[w.height - 1]! : w.top + w.height;
  let src = columns ? horizontalPass(image, first, last, columns) : cropped(image, first, last, w.left, w.width);
  if (rows) {
    for (let i = 0; i < w.height; i++) rows.start[i]! -= first;
    src = verticalPass(src, rows);
  }
  return src;
}

/** The coefficients of outputs from … from + count − 1 only. */
function within(c: Coefficients, from: number, count: number): Coefficients {
  return { ksize: c.ksize, start: c.start.slice(from, from + count), count: c.count.slice(from, from + count), weights: c.weights.slice(from * c.ksize, (from + count) * c.ksize) };
}

/** Rows first … last − 1, columns left … left + width − 1, copied. */
function cropped(image: RgbImage, first: number, last: number, left: number, width: number): RgbImage {
  const data = new Uint8Array((last - first) * width * 3);
  for (let y = first; y < last; y++) data.set(image.data.subarray((y * image.width + left) * 3, (y * image.width + left + width) * 3), (y - first) * width * 3);
  return { width, height: last - first, data };
}

function horizontalPass(image: RgbImage, firstRow: number, lastRow: number, c: Coefficients): RgbImage {
  const out = c.start.length;
  const rows = lastRow - firstRow;
  const data = new Uint8Array(out * rows * 3);
  const { data: inp, width: inW } = image;
  const { ksize, start, count, weights } = c;
  for (let y = 0; y < rows; y++) {
    const rowIn = (y + firstRow) * inW * 3;
    let o = y * out * 3;
    for (let xx = 0; xx < out; xx++, o += 3) {
      const k0 = xx * ksize;
      const n = count[xx]!;
      let p = rowIn + start[xx]! * 3;
      let s0 = ONE / 2;
      let s1 = ONE / 2;
      let s2 = ONE / 2;
      for (let x = 0; x < n; x++, p += 3) {
        const wt = weights[k0 + x]!;
        s0 = (s0 + inp[p]! * wt) | 0;
        s1 = (s1 + inp[p + 1]! * wt) | 0;
        s2 = (s2 + inp[p + 2]! * wt) | 0;
      }
      data[o] = clip8(s0);
      data[o + 1] = clip8(s1);
      data[o + 2] = clip8(s2);
    }
  }
  return { width: out, height: rows, data };
}

function verticalPass(image: RgbImage, c: Coefficients): RgbImage {
  const out = c.start.length;
  const { width, data: inp } = image;
  const stride = width * 3;
  const data = new Uint8Array(width * out * 3);
  // Whole rows at a time, so the taps stream through memory; each sum still adds its taps in order.
  const acc = new Int32Array(stride);
  for (let yy = 0; yy < out; yy++) {
    const k0 = yy * c.ksize;
    const n = c.count[yy]!;
    acc.fill(ONE / 2);
    for (let y = 0; y < n; y++) {
      const wt = c.weights[k0 + y]!;
      const row = (c.start[yy]! + y) * stride;
      for (let i = 0; i < stride; i++) acc[i] = (acc[i]! + inp[row + i]! * wt) | 0;
    }
    const o = yy * stride;
    for (let i = 0; i < stride; i++) data[o + i] = clip8(acc[i]!);
  }
  return { width, height: out, data };
}

/** Geometry.c's ImagingScaleAffine: source x of output pixel x is ⌊(x + ½)·in/out⌋, the position accumulated in double. */
function nearest(image: RgbImage, width: number, height: number, w: Window): RgbImage {
  const indexAlong = (inSize: number, outSize: number): Int32Array => {
    const step = inSize / outSize;
    const idx = new Int32Array(outSize);
    let pos = step * 0.5;
    for (let i = 0; i < outSize; i++, pos += step) idx[i] = Math.min(Math.trunc(pos), inSize - 1);
    return idx;
  };
  const xs = indexAlong(image.width, width).subarray(w.left, w.left + w.width);
  const ys = indexAlong(image.height, height).subarray(w.top, w.top + w.height);
  const data = new Uint8Array(w.width * w.height * 3);
  for (let y = 0, o = 0; y < w.height; y++) {
    const row = ys[y]! * image.width;
    for (let x = 0; x < w.width; x++, o += 3) {
      const s = (row + xs[x]!) * 3;
      data[o] = image.data[s]!;
      data[o + 1] = image.data[s + 1]!;
      data[o + 2] = image.data[s + 2]!;
    }
  }
  return { width: w.width, height: w.height, data };
}
