/**
 * ONNX Runtime's com.microsoft fused kernels for inference graphs: one node where standard ONNX
 * needs several, and kernels standard ops cannot reach (flash attention). Only ORT runs them and
 * they have no gradient, so training graphs, and exports for other runtimes, keep standard ops.
 */
import { currentGraph, nonDifferentiable, type OpDef, type Tensor } from '../graph.js';
import { formatShape, ShapeError } from '../shape.js';
import { sameAsInput } from './util.js';

const MICROSOFT = 'com.microsoft';

const Attention: OpDef<{ num_heads: number; mask_filter_value: number }, readonly [Tensor, Tensor, Tensor, Tensor]> = {
  name: 'Attention',
  domain: MICROSOFT,
  attrTypes: { num_heads: 'int', mask_filter_value: 'float' },
  infer: ([x, w, b, mask], { num_heads: heads }, where) => {
    const width = w.shape[1];
    if (x.rank !== 3 || w.rank !== 2 || typeof width !== 'number' || width % 3 !== 0 || w.shape[0] !== x.shape[2]) {
      throw new ShapeError(`${where}: expected input (B, T, H) and weights (H, 3H), got ${formatShape(x.shape)} and ${formatShape(w.shape)}`);
    }
    if (b.rank !== 1 || b.shape[0] !== width) throw new ShapeError(`${where}: the bias must be (${width}), got ${formatShape(b.shape)}`);
    if (mask.dtype !== 'int32' || mask.rank !== 2) throw new ShapeError(`${where}: the mask must be int32 (B, T), got ${mask.dtype}${formatShape(mask.shape)}`);
    if ((width / 3) % heads !== 0) throw new ShapeError(`${where}: ${heads} heads do not divide the width ${width / 3}`);
    return [{ shape: [x.shape[0]!, x.shape[1]!, width / 3], dtype: 'float32' }];
  },
  vjp: nonDifferentiable,
};

/**
 * Multi-head self-attention of x (B, T, H) with the Q, K and V maps stacked as `weight` (H, 3H) and
 * `bias` (3H), keys masked where `mask` (B, T, int32) is 0, scores scaled by 1/√(H/heads): (B, T, H).
 * Masked scores get float32's minimum, as HF's BERT fills them.
 */
export function fusedSelfAttention(x: Tensor, weight: Tensor, bias: Tensor, mask: Tensor, heads: number): Tensor {
  return currentGraph().apply(Attention, [x, weight, bias, mask], { num_heads: heads, mask_filter_value: -3.4028234663852886e38 })[0];
}

const SkipLayerNorm: OpDef<{ epsilon: number }, readonly [Tensor, Tensor, Tensor, Tensor, Tensor]> = {
  name: 'SkipLayerNormalization',
  domain: MICROSOFT,
  attrTypes: { epsilon: 'float' },
  infer: (inputs, _attrs, where) => {
    const [x, skip] = inputs;
    if (x.shape.length !== skip.shape.length || x.shape.some((d, i) => d !== skip.shape[i])) {
      throw new ShapeError(`${where}: input ${formatShape(x.shape)} and skip ${formatShape(skip.shape)} differ`);
    }
    return sameAsInput(inputs);
  },
  vjp: nonDifferentiable,
};

/** LayerNorm(x + skip + bias)·gamma + beta over the last axis, in one kernel. */
export function skipLayerNorm(x: Tensor, skip: Tensor, gamma: Tensor, beta: Tensor, bias: Tensor, epsilon: number): Tensor {
  return currentGraph().apply(SkipLayerNorm, [x, skip, gamma, beta, bias], { epsilon })[0];
}

const MultiHeadAttention: OpDef<{ num_heads: number; scale: number }, readonly [Tensor, Tensor, Tensor]> = {
  name: 'MultiHeadAttention',
  domain: MICROSOFT,
  attrTypes: { num_heads: 'int', scale: 'float' },
  infer: ([q, k, v], { num_heads: heads }, where) => {
    const width = q.shape[2];
    const sameWidth = k.shape[2] === width && v.shape[2] === width;
    if (q.rank !== 3 || k.rank !== 3 || v.rank !== 3 || typeof width !== 'number' || !sameWidth || k.shape[1] !== v.shape[1]) {
      throw new ShapeError(`${where}: expected query (B, T, H) and key and value (B, S, H), got ${formatShape(q.shape)}, ${formatShape(k.shape)} and ${formatShape(v.shape)}`);
    }
    if (width % heads !== 0) throw new ShapeError(`${where}: ${heads} heads do not divide the width ${width}`);
    return [{ shape: [...q.shape], dtype: 'float32' }];
  },
  vjp: nonDifferentiable,
};

/**
 * softmax(q·kᵀ·scale)·v in `heads` heads, q (B, T, H) over k and v (B, S, H), unmasked: (B, T, H).
 * ORT's CPU kernel tiles it as flash attention, so the (T, S) scores are never written out whole:
 * on Whisper's 1500 encoder positions it takes 4 layers from 131 to 121 ms of kernel time.
 */
export function fusedAttention(q: Tensor, k: Tensor, v: Tensor, heads: number, scale: number): Tensor {
  return currentGraph().apply(MultiHeadAttention, [q, k, v], { num_heads: heads, scale })[0];
}
