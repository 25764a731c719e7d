/**
 * Ops for convolutional image models (NCHW): group normalisation, nearest
 * upsampling and SiLU. Each is chosen for what ONNX Runtime runs fast and for
 * a VJP that is short and exact.
 */
import { currentGraph, type OpDef, type Tensor } from '../graph.js';
import { dimAt, formatShape, ShapeError, type Dim } from '../shape.js';
import { add, mul, sub } from './elementwise.js';
import { sigmoid } from './activation.js';
import { sum } from './reduce.js';
import { broadcastTo, reshape } from './movement.js';
import { layerNorm } from './nn.js';
import { sameAsInput, scalar } from './util.js';

// --- SiLU ----------------------------------------------------------------------------

/*
 * mul(x, sigmoid(x)) is two kernels forward and four backward over the whole
 * activation; ORT's contrib QuickGelu (x·σ(αx)) is one. With α = 1 it is SiLU.
 * Measured on a [128, 32, 28, 28] forward + backward: 136 ms against 294 ms.
 */
const Silu: OpDef<{ alpha: number }, [Tensor]> = {
  name: 'Silu',
  onnx: 'QuickGelu',
  domain: 'com.microsoft',
  attrTypes: { alpha: 'float' },
  infer: sameAsInput,
  // d/dx x·σ(x) = σ(x)·(1 + x·(1 − σ(x)))
  vjp: ([g], { inputs: [x] }) => {
    const s = sigmoid(x);
    return [mul(g, mul(s, add(mul(x, sub(1, s)), 1)))];
  },
};

/**
 * x·σ(x) as one ONNX Runtime kernel (com.microsoft QuickGelu with α = 1).
 * `silu` (activation.ts) is the same function from standard ONNX ops, for
 * graphs other runtimes load.
 */
export const siluFused = (x: Tensor): Tensor => currentGraph().apply(Silu, [x], { alpha: 1 })[0];

// --- group normalisation ----------------------------------------------------------------

function staticChannelsAndSpatial(x: Tensor, where: string): [Dim, number, number, number] {
  const [n, c, h, w] = x.shape;
  if (x.rank !== 4 || typeof c !== 'number' || typeof h !== 'number' || typeof w !== 'number') {
    throw new ShapeError(`${where}: expected [N, C, H, W] with static C, H and W, received ${formatShape(x.shape)}`);
  }
  return [n!, c, h, w];
}

export interface GroupNormOptions {
  /** Default 1e-5 (PyTorch's GroupNorm). */
  epsilon?: number;
}

/**
 * Group normalisation (Wu & He 2018) of NCHW `x`: the C channels fall into
 * `groups` groups, each example's group is normalised over its channels and
 * pixels, then each channel is scaled by `gamma` [C] and shifted by `beta` [C].
 *
 * Lowered as ONNX LayerNormalization over [N, groups, C/groups·H·W] (ORT's
 * fused kernel, whose mean and inverse deviation the VJP reuses), then the
 * per-channel affine. ONNX's own GroupNormalization-18 scales per group, not
 * per channel, and ORT runs it as primitives.
 */
export function groupNorm(x: Tensor, gamma: Tensor, beta: Tensor, groups: number, opts: GroupNormOptions = {}): Tensor {
  const where = currentGraph().scopePath || 'groupNorm';
  const [n, c, h, w] = staticChannelsAndSpatial(x, where);
  if (!Number.isInteger(groups) || groups < 1 || c % groups !== 0) {
    throw new ShapeError(`${where}: ${c} channels do not split into ${groups} groups`);
  }
  for (const [name, v] of [['gamma', gamma], ['beta', beta]] as const) {
    if (v.rank !== 1 || v.shape[0] !== c) throw new ShapeError(`${where}: ${name} must be [${c}] for input ${formatShape(x.shape)}, received ${formatShape(v.shape)}`);
  }
  const perGroup = (c / groups) * h * w;
  const grouped = reshape(x, [n, groups, perGroup]);
  const ones = broadcastTo(scalar(1, x.dtype), [perGroup]);
  const zeros = broadcastTo(scalar(0, x.dtype), [perGroup]);
  const normalized = reshape(layerNorm(grouped, ones, zeros, { axis: 2, epsilon: opts.epsilon ?? 1e-5 }), [n, c, h, w]);
  return add(mul(normalized, reshape(gamma, [c, 1, 1])), reshape(beta, [c, 1, 1]));
}

// --- nearest upsampling ---------------------------------------------------------------------

type ResizeAttrs = { mode: string; coordinate_transformation_mode: string; nearest_mode: string; _factor: number };

const Resize: OpDef<ResizeAttrs, [x: Tensor, roi: Tensor, scales: Tensor]> = {
  name: 'Resize',
  attrTypes: { mode: 'string', coordinate_transformation_mode: 'string', nearest_mode: 'string' },
  infer: ([x], { _factor }) => {
    const scaled = (d: Dim): Dim => (typeof d === 'number' ? d * _factor : `${d}*${_factor}`);
    return [{ shape: [dimAt(x.shape, 0), dimAt(x.shape, 1), scaled(dimAt(x.shape, 2)), scaled(dimAt(x.shape, 3))], dtype: x.dtype }];
  },
  // Each input pixel was copied into a factor × factor block: its gradient is the block's sum.
  vjp: ([g], { inputs: [x], attrs: { _factor: f } }) => {
    const [n, c, h, w] = staticChannelsAndSpatial(x, 'upsampleNearest gradient');
    return [sum(reshape(g, [n, c, h, f, w, f]), [3, 5]), null, null];
  },
};

/** Nearest-neighbour upsampling of NCHW `x` by an integer `factor` on both spatial axes (each pixel becomes a factor × factor block). */
export function upsampleNearest(x: Tensor, factor = 2): Tensor {
  const where = currentGraph().scopePath || 'upsampleNearest';
  if (x.rank !== 4) throw new ShapeError(`${where}: expected [N, C, H, W], received ${formatShape(x.shape)}`);
  if (!Number.isInteger(factor) || factor < 1) throw new ShapeError(`${where}: factor must be a positive integer, received ${factor}`);
  const g = currentGraph();
  const roi = g.constant(new Float32Array(0), [0], 'float32');
  const scales = g.constant(Float32Array.of(1, 1, factor, factor), [4], 'float32');
  // 'asymmetric' + 'floor' maps output pixel i to input pixel ⌊i / factor⌋ exactly.
  return g.apply(Resize, [x, roi, scales], { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor', _factor: factor })[0];
}
