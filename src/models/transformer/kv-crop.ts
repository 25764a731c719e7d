/**
 * Cutting key/value caches of (batch, heads, positions, headDim) tensors along positions: cropping
 * after assisted generation's rejected draft tokens (transformers' DynamicCache.crop). The causal LMs'
 * own cache is append-cache.ts.
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

/** Throws, naming `where`, unless `length` is an integer in [0, cached]: a cache can only be cropped shorter. */
export function checkCropLength(cached: number, length: number, where: string): void {
  if (!Number.isInteger(length) || length < 0 || length > cached) {
    throw new Error(`${where}: cannot crop a cache of ${cached} positions to ${length}; the length must be an integer in [0, ${cached}]`);
  }
}

/** The first `length` positions of each (batch, heads, positions, headDim) tensor; the same tensors when nothing is cut. */
export function cropPositions(tensors: readonly ort.Tensor[], cached: number, length: number, where: string): ort.Tensor[] {
  checkCropLength(cached, length, where);
  return slicePositions(tensors, cached, 0, length, where);
}
