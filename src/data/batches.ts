/**
 * Dataset containers plus deterministic shuffling, batching and row gathering.
 * Every random choice comes from a seeded Rng, so a run is reproducible from
 * its seed alone.
 */
import { Rng } from '../core/rng.js';

/** Rows of flattened samples and one label per row. */
export interface Dataset {
  /** count × (sample size) values, row-major. */
  images: Float32Array;
  labels: Uint8Array;
  count: number;
}

/** A Dataset whose rows are single-channel rows×cols images. */
export interface ImageDataset extends Dataset {
  rows: number;
  cols: number;
}

export interface BatchOptions {
  /** Shuffle indices each epoch (default true). False yields 0..count-1 in order. */
  shuffle?: boolean;
  /** Base seed (default 0). */
  seed?: number;
  /** Epoch number (default 0); each epoch gets its own permutation. */
  epoch?: number;
  /** Skip the last batch when it is smaller than batchSize (default false). */
  dropRemainder?: boolean;
}

export interface IndexSplit {
  train: Int32Array;
  val: Int32Array;
}

function checkInt(value: number, name: string, where: string, min: number): void {
  if (!Number.isInteger(value) || value < min) {
    throw new RangeError(`${where}: ${name} must be an integer >= ${min}, got ${value}`);
  }
}

/** 32-bit finaliser (murmur3 fmix32): spreads nearby inputs far apart. */
function mix32(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/**
 * The Rng seed used for one epoch. Hashed rather than added so that
 * (seed 1, epoch 0) and (seed 0, epoch 1) give unrelated permutations.
 */
export function epochSeed(seed: number, epoch: number): number {
  checkInt(seed, 'seed', 'epochSeed', Number.MIN_SAFE_INTEGER);
  checkInt(epoch, 'epoch', 'epochSeed', 0);
  return mix32(mix32(seed >>> 0) ^ Math.imul(epoch + 1, 0x9e3779b9));
}

/** Number of batches `batches()` yields for these arguments. */
export function batchCount(count: number, batchSize: number, dropRemainder = false): number {
  checkInt(count, 'count', 'batchCount', 0);
  checkInt(batchSize, 'batchSize', 'batchCount', 1);
  return dropRemainder ? Math.floor(count / batchSize) : Math.ceil(count / batchSize);
}

/**
 * Yields batches of row indices that together cover 0..count-1 exactly once
 * (minus the short tail when dropRemainder is set). The yielded arrays are
 * views into one per-epoch permutation; copy one if you keep it and mutate.
 */
export function* batches(
  count: number,
  batchSize: number,
  options: BatchOptions = {},
): Generator<Int32Array, void, undefined> {
  const { shuffle = true, seed = 0, epoch = 0, dropRemainder = false } = options;
  checkInt(count, 'count', 'batches', 0);
  checkInt(batchSize, 'batchSize', 'batches', 1);
  checkInt(epoch, 'epoch', 'batches', 0);
  checkInt(seed, 'seed', 'batches', Number.MIN_SAFE_INTEGER);

  const order = epochOrder(count, { shuffle, seed, epoch });
  const end = dropRemainder ? count - (count % batchSize) : count;
  for (let start = 0; start < end; start += batchSize) {
    yield order.subarray(start, Math.min(start + batchSize, end));
  }
}

/** The row order of one epoch: a permutation seeded by (seed, epoch), or 0..count-1 without shuffling. */
export function epochOrder(count: number, options: Pick<BatchOptions, 'shuffle' | 'seed' | 'epoch'> = {}): Int32Array {
  const { shuffle = true, seed = 0, epoch = 0 } = options;
  if (shuffle) return new Rng(epochSeed(seed, epoch)).permutation(count);
  return Int32Array.from({ length: count }, (_, i) => i);
}

function checkIndices(indices: ArrayLike<number>, rows: number, where: string): void {
  for (let j = 0; j < indices.length; j++) {
    const i = indices[j]!;
    if (!Number.isInteger(i) || i < 0 || i >= rows) {
      throw new RangeError(`${where}: indices[${j}] = ${i} is outside 0..${rows - 1}`);
    }
  }
}

/**
 * Copies rows `indices` of `src` (rows of rowSize values) into `out`, which
 * callers reuse across batches to avoid allocating. Returns the filled part:
 * `out` itself, or a view of its first indices.length rows when `out` is
 * larger (e.g. a full-size buffer receiving the short last batch).
 */
export function gatherRows(
  src: Float32Array,
  rowSize: number,
  indices: ArrayLike<number>,
  out?: Float32Array,
): Float32Array {
  checkInt(rowSize, 'rowSize', 'gatherRows', 1);
  if (src.length % rowSize !== 0) {
    throw new RangeError(
      `gatherRows: src length ${src.length} is not a multiple of rowSize ${rowSize}`,
    );
  }
  checkIndices(indices, src.length / rowSize, 'gatherRows');
  const needed = indices.length * rowSize;
  const dst = out ?? new Float32Array(needed);
  if (dst.length < needed) {
    throw new RangeError(
      `gatherRows: out holds ${dst.length} values but ${indices.length} rows × ${rowSize} need ${needed}`,
    );
  }
  for (let j = 0; j < indices.length; j++) {
    const start = indices[j]! * rowSize;
    dst.set(src.subarray(start, start + rowSize), j * rowSize);
  }
  return dst.length === needed ? dst : dst.subarray(0, needed);
}

/** Like gatherRows for one label per row. */
export function gatherLabels(
  labels: Uint8Array,
  indices: ArrayLike<number>,
  out?: Uint8Array,
): Uint8Array {
  checkIndices(indices, labels.length, 'gatherLabels');
  const dst = out ?? new Uint8Array(indices.length);
  if (dst.length < indices.length) {
    throw new RangeError(
      `gatherLabels: out holds ${dst.length} labels but ${indices.length} are needed`,
    );
  }
  for (let j = 0; j < indices.length; j++) dst[j] = labels[indices[j]!]!;
  return dst.length === indices.length ? dst : dst.subarray(0, indices.length);
}

/**
 * Splits 0..n-1 into shuffled train and validation index sets.
 * `validation` in (0, 1) is a fraction of n (rounded); an integer >= 0 is a count.
 */
export function splitValidation(n: number, validation: number, seed: number): IndexSplit {
  checkInt(n, 'n', 'splitValidation', 0);
  checkInt(seed, 'seed', 'splitValidation', Number.MIN_SAFE_INTEGER);
  let valCount: number;
  if (validation > 0 && validation < 1) {
    valCount = Math.round(validation * n);
  } else if (Number.isInteger(validation) && validation >= 0 && validation <= n) {
    valCount = validation;
  } else {
    throw new RangeError(
      `splitValidation: validation must be a fraction in (0, 1) or an integer count in 0..${n}, got ${validation}`,
    );
  }
  const perm = new Rng(seed).permutation(n);
  return { val: perm.slice(0, valCount), train: perm.slice(valCount) };
}

/** A new dataset holding rows `indices` of `ds`, in that order. */
export function subset<T extends Dataset>(ds: T, indices: ArrayLike<number>): T {
  if (ds.labels.length !== ds.count) {
    throw new RangeError(`subset: dataset has ${ds.labels.length} labels but count ${ds.count}`);
  }
  if (ds.count === 0) {
    checkIndices(indices, 0, 'subset');
    return { ...ds, images: new Float32Array(0), labels: new Uint8Array(0), count: 0 };
  }
  if (ds.images.length % ds.count !== 0) {
    throw new RangeError(
      `subset: images length ${ds.images.length} is not a multiple of count ${ds.count}`,
    );
  }
  const rowSize = ds.images.length / ds.count;
  return {
    ...ds,
    images: gatherRows(ds.images, rowSize, indices),
    labels: gatherLabels(ds.labels, indices),
    count: indices.length,
  };
}
