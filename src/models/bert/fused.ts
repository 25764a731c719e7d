/**
 * ONNX Runtime's com.microsoft kernels for BERT inference graphs, which only ORT runs. ORT fuses Forja's
 * Add + Gelu into BiasGelu by itself, but not its attention (Q/K/V projections, head split, scaled
 * scores, the padding mask, softmax, context) nor the bias and residual Adds before each LayerNorm:
 * those become one `Attention` and one `SkipLayerNormalization` node. Inference only: no gradients.
 */
import { currentGraph, nonDifferentiable, type OpDef, type Tensor } from '../../core/graph.js';
import { formatShape, ShapeError } from '../../core/shape.js';
import { sameAsInput } from '../../core/ops/util.js';

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
