/**
 * Cropping a key/value cache to its first positions, as assisted generation needs after the
 * target rejects some of the draft's tokens (transformers' DynamicCache.crop).
 */
import type ort from 'onnxruntime-node';
import { float32 } from '../../runtime/session.js';

/** The first `length` positions of each (batch, heads, positions, headDim) tensor; the same tensors when nothing is cut. */
export function cropPositions(tensors: readonly ort.Tensor[], cached: number, length: number, where: string): ort.Tensor[] {
  if (!Number.isInteger(length) || length < 0 || length > cached) {
    throw new Error(`${where}: cannot crop a cache of ${cached} positions to ${length}; the length must be an integer in [0, ${cached}]`);
  }
  if (length === cached) return [...tensors];
  return tensors.map((t) => {
    const [batch, heads, , headDim] = t.dims as [number, number, number, number];
    const data = t.data as Float32Array;
    const out = new Float32Array(batch * heads * length * headDim);
    const keep = length * headDim;
    // Each (row, head) block is contiguous: keep its first `length` positions.
    for (let b = 0; b < batch * heads; b++) out.set(data.subarray(b * cached * headDim, b * cached * headDim + keep), b * keep);
    return float32(out, [batch, heads, length, headDim]);
  });
}
