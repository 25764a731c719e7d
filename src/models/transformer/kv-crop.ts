/**
 * Cutting and joining key/value caches along positions: cropping after assisted generation's
 * rejected draft tokens (transformers' DynamicCache.crop), dropping leading padding columns and
 * left-padding caches of different lengths into one batch (continuous batching).
 */
import type ort from 'onnxruntime-node';
import { float32 } from '../../runtime/session.js';

/** Positions [start, end) of each (batch, heads, positions, headDim) tensor; the same tensors when nothing is cut. */
export function slicePositions(tensors: readonly ort.Tensor[], cached: number, start: number, end: number, where: string): ort.Tensor[] {
  if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end < start || end > cached) {
    throw new Error(`${where}: cannot keep positions [${start}, ${end}) of a cache of ${cached} positions; they must be integers with 0 <= start <= end <= ${cached}`);
  }
  if (start === 0 && end === cached) return [...tensors];
  const length = end - start;
  return tensors.map((t) => {
    const [batch, heads, , headDim] = t.dims as [number, number, number, number];
    const data = t.data as Float32Array;
    const out = new Float32Array(batch * heads * length * headDim);
    const keep = length * headDim;
    // Each (row, head) block is contiguous: keep its slice of positions.
    for (let b = 0; b < batch * heads; b++) {
      const from = (b * cached + start) * headDim;
      out.set(data.subarray(from, from + keep), b * keep);
    }
    return float32(out, [batch, heads, length, headDim]);
  });
}

/** The first `length` positions of each (batch, heads, positions, headDim) tensor; the same tensors when nothing is cut. */
export function cropPositions(tensors: readonly ort.Tensor[], cached: number, length: number, where: string): ort.Tensor[] {
  if (!Number.isInteger(length) || length < 0 || length > cached) {
    throw new Error(`${where}: cannot crop a cache of ${cached} positions to ${length}; the length must be an integer in [0, ${cached}]`);
  }
  return slicePositions(tensors, cached, 0, length, where);
}

/**
 * Caches (each a list of per-layer tensors with `lengths[i]` positions) stacked along the batch,
 * each left-padded with zeros to the longest; the caller masks the padding.
 */
export function concatPadded(caches: readonly (readonly ort.Tensor[])[], lengths: readonly number[], where: string): ort.Tensor[] {
  if (caches.length === 0) throw new Error(`${where}: give at least one cache`);
  const count = caches[0]!.length;
  if (caches.some((c) => c.length !== count)) throw new Error(`${where}: the caches hold different numbers of tensors (${caches.map((c) => c.length).join(', ')})`);
  const length = Math.max(...lengths);
  return Array.from({ length: count }, (_, j) => {
    const [, heads, , headDim] = caches[0]![j]!.dims as [number, number, number, number];
    const rows = caches.reduce((n, c) => n + (c[j]!.dims[0] as number), 0);
    const out = new Float32Array(rows * heads * length * headDim);
    let block = 0; // (row, head) blocks written so far
    caches.forEach((c, i) => {
      const t = c[j]!;
      const [batch, h, cached, d] = t.dims as [number, number, number, number];
      if (h !== heads || d !== headDim || cached !== lengths[i]) {
        throw new Error(`${where}: cache ${i} tensor ${j} has shape [${t.dims.join(', ')}], expected [*, ${heads}, ${lengths[i]}, ${headDim}]`);
      }
      const data = t.data as Float32Array;
      const size = cached * headDim;
      const offset = (length - cached) * headDim;
      for (let b = 0; b < batch * heads; b++, block++) out.set(data.subarray(b * size, (b + 1) * size), block * length * headDim + offset);
    });
    return float32(out, [rows, heads, length, headDim]);
  });
}
