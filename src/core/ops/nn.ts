/**
 * Neural-network ops: convolutions, normalisations, dropout, and the small
 * elementwise and indexing helpers losses need (softplus, logSigmoid, rsqrt,
 * range, trilu, cumsum). Each lowers to its ONNX op with its VJP beside it;
 * training-mode batch norm is built from primitives so autodiff handles it.
 */
import { currentGraph, GraphError, nonDifferentiable, type Attrs, type OpDef, type Tensor } from '../graph.js';
import { formatShape, freshDim, normalizeAxis, ShapeError, type Dim, type Shape } from '../shape.js';
import { add, div, mul, neg, reciprocal, sqrt, sub, where } from './elementwise.js';
import { sigmoid } from './activation.js';
import { mean, reducedCount, sum } from './reduce.js';
import { reshape, slice, transpose } from './movement.js';
import { sameAsInput, scalar, type Operand } from './util.js';

// --- elementwise -----------------------------------------------------------------

const Softplus: OpDef<Attrs, [Tensor]> = {
  name: 'Softplus',
  infer: sameAsInput,
  vjp: ([g], { inputs: [x] }) => [mul(g, sigmoid(x))],
};

/** log(1 + eˣ), computed without overflow for large |x|. */
export const softplus = (x: Tensor): Tensor => currentGraph().apply(Softplus, [x], {})[0];
/** log σ(x) = −softplus(−x), finite for very negative x. */
export const logSigmoid = (x: Tensor): Tensor => neg(softplus(neg(x)));
/** 1/√x (ONNX has no Rsqrt op). */
export const rsqrt = (x: Tensor): Tensor => reciprocal(sqrt(x));

// --- convolution -------------------------------------------------------------------

type Pair = readonly [number, number];
/** ONNX order: [begin of H, begin of W, end of H, end of W]. */
type Pads = readonly [number, number, number, number];
/** One value for both spatial axes, or [height, width]. */
export type SpatialArg = number | Pair;
/** Padding: one value, [height, width], or ONNX order [top, left, bottom, right]. */
export type PaddingArg = SpatialArg | readonly [number, number, number, number];

type Geometry = { strides: Pair; pads: Pads; dilations: Pair };
type ConvAttrs = Geometry & { group: number };
type ConvTransposeAttrs = Geometry & { output_padding: Pair };
/** Input, kernel, and the bias if there is one. */
type ConvInputs = [x: Tensor, w: Tensor] | [x: Tensor, w: Tensor, b: Tensor];
type Dims4 = readonly [Dim, Dim, Dim, Dim];

const CONV_ATTRS = { strides: 'ints', pads: 'ints', dilations: 'ints', group: 'int' } as const;
const CONV_TRANSPOSE_ATTRS = { strides: 'ints', pads: 'ints', dilations: 'ints', output_padding: 'ints' } as const;

function pair(v: SpatialArg | undefined, fallback: number): Pair {
  if (v === undefined) return [fallback, fallback];
  return typeof v === 'number' ? [v, v] : v;
}

function fourPads(p: PaddingArg | undefined): Pads {
  if (p === undefined) return [0, 0, 0, 0];
  if (typeof p === 'number') return [p, p, p, p];
  return p.length === 2 ? [p[0], p[1], p[0], p[1]] : p;
}

/** [begin, end] padding of spatial axis 0 (H) or 1 (W). */
const padsAt = (pads: Pads, axis: 0 | 1): Pair => (axis === 0 ? [pads[0], pads[2]] : [pads[1], pads[3]]);

/** Size of one spatial axis after a convolution; symbolic in, symbolic out. */
function convOutDim(size: Dim, kernel: number, stride: number, padBegin: number, padEnd: number, dilation: number): Dim {
  if (typeof size !== 'number') return freshDim('conv');
  return Math.floor((size + padBegin + padEnd - dilation * (kernel - 1) - 1) / stride) + 1;
}

function convTransposeOutDim(size: Dim, kernel: number, a: ConvTransposeAttrs, axis: 0 | 1): Dim {
  if (typeof size !== 'number') return freshDim('convT');
  const [s, d, op] = [a.strides[axis], a.dilations[axis], a.output_padding[axis]];
  const [p0, p1] = padsAt(a.pads, axis);
  return s * (size - 1) + op + d * (kernel - 1) + 1 - p0 - p1;
}

const isRank4 = (s: Shape): s is Dims4 => s.length === 4;

/** The input's and kernel's dimensions, once both are checked to be rank 4 (and the bias 1-D). */
function convShapes(x: Tensor, w: Tensor, b: Tensor | undefined, where: string): [Dims4, Dims4] {
  const [xs, ws] = [x.shape, w.shape];
  if (!isRank4(xs) || !isRank4(ws)) {
    throw new ShapeError(`${where}: expected input [N, C, H, W] and kernel of rank 4, received ${formatShape(x.shape)} and ${formatShape(w.shape)}`);
  }
  if (b && b.rank !== 1) throw new ShapeError(`${where}: bias must be 1-D, received ${formatShape(b.shape)}`);
  return [xs, ws];
}

function staticKernel(w: Tensor, where: string): [number, number] {
  const [kh, kw] = w.shape.slice(2);
  if (typeof kh !== 'number' || typeof kw !== 'number') throw new ShapeError(`${where}: kernel size must be static, received ${formatShape(w.shape)}`);
  return [kh, kw];
}

function staticSpatial(x: Tensor, where: string): [number, number] {
  const [h, w] = x.shape.slice(2);
  if (typeof h !== 'number' || typeof w !== 'number') {
    throw new ShapeError(`${where}: gradient needs static spatial dimensions, received ${formatShape(x.shape)}`);
  }
  return [h, w];
}

/** [N, C, H, W] → [C, N, H, W]: lets a Conv correlate over the batch axis. */
const swapBatchChannels = (t: Tensor): Tensor => transpose(t, [1, 0, 2, 3]);

/**
 * Kernel gradient of a correlation: correlate the (channel-swapped) signal
 * with the (channel-swapped) filter `h`, with stride and dilation exchanged,
 * then crop to the kernel. Result is [C(h), C(signal), kh, kw].
 */
function kernelGrad(signal: Tensor, h: Tensor, a: Geometry, kernel: Pair): Tensor {
  const attrs: ConvAttrs = { strides: a.dilations, pads: a.pads, dilations: a.strides, group: 1 };
  const full = currentGraph().apply(Conv, [swapBatchChannels(signal), swapBatchChannels(h)], attrs)[0];
  return slice(full, [0, 0], [kernel[0], kernel[1]], [2, 3]);
}

const biasGrad = (g: Tensor): Tensor => sum(g, [0, 2, 3]);

const Conv: OpDef<ConvAttrs, ConvInputs> = {
  name: 'Conv',
  attrTypes: CONV_ATTRS,
  infer: ([x, w, b], a, where) => {
    const [[n, c, h, wd], [o, cPerGroup]] = convShapes(x, w, b, where);
    const [kh, kw] = staticKernel(w, where);
    if (typeof c === 'number' && typeof cPerGroup === 'number' && c !== cPerGroup * a.group) {
      throw new ShapeError(
        `${where}: input has ${c} channels but the kernel ${formatShape(w.shape)} expects ${cPerGroup}×${a.group} groups: input ${formatShape(x.shape)}`,
      );
    }
    if (b && typeof b.shape[0] === 'number' && typeof o === 'number' && b.shape[0] !== o) {
      throw new ShapeError(`${where}: bias ${formatShape(b.shape)} does not match the ${o} output channels of kernel ${formatShape(w.shape)}`);
    }
    const oh = convOutDim(h, kh, a.strides[0], a.pads[0], a.pads[2], a.dilations[0]);
    const ow = convOutDim(wd, kw, a.strides[1], a.pads[1], a.pads[3], a.dilations[1]);
    if ((typeof oh === 'number' && oh < 1) || (typeof ow === 'number' && ow < 1)) {
      throw new ShapeError(`${where}: kernel ${formatShape(w.shape)} does not fit input ${formatShape(x.shape)} with pads [${a.pads.join(', ')}]`);
    }
    return [{ shape: [n, o, oh, ow], dtype: x.dtype }];
  },
  vjp: ([g], { inputs: [x, w, b], attrs }) => {
    if (attrs.group !== 1) throw new ShapeError(`conv2d gradient: only groups = 1 is supported, got ${attrs.group}`);
    const site = 'conv2d gradient';
    const [h, wd] = staticSpatial(x, site);
    const kernel = staticKernel(w, site);
    // ConvTranspose maps g back onto the input grid; output_padding restores
    // the rows/columns the forward stride dropped.
    const dropped = (size: number, axis: 0 | 1): number => {
      const [begin, end] = padsAt(attrs.pads, axis);
      return (size + begin + end - attrs.dilations[axis] * (kernel[axis] - 1) - 1) % attrs.strides[axis];
    };
    const tAttrs: ConvTransposeAttrs = {
      strides: attrs.strides,
      pads: attrs.pads,
      dilations: attrs.dilations,
      output_padding: [dropped(h, 0), dropped(wd, 1)],
    };
    const dx = currentGraph().apply(ConvTranspose, [g, w], tAttrs)[0];
    const dw = swapBatchChannels(kernelGrad(x, g, attrs, kernel));
    return b ? [dx, dw, biasGrad(g)] : [dx, dw];
  },
};

const ConvTranspose: OpDef<ConvTransposeAttrs, ConvInputs> = {
  name: 'ConvTranspose',
  attrTypes: CONV_TRANSPOSE_ATTRS,
  infer: ([x, w, b], a, where) => {
    const [[n, c, h, wd], [cin, cout]] = convShapes(x, w, b, where);
    const [kh, kw] = staticKernel(w, where);
    if (typeof c === 'number' && typeof cin === 'number' && c !== cin) {
      throw new ShapeError(`${where}: input has ${c} channels but the kernel ${formatShape(w.shape)} (layout [in, out, kh, kw]) expects ${cin}: input ${formatShape(x.shape)}`);
    }
    if (b && typeof b.shape[0] === 'number' && typeof cout === 'number' && b.shape[0] !== cout) {
      throw new ShapeError(`${where}: bias ${formatShape(b.shape)} does not match the ${cout} output channels of kernel ${formatShape(w.shape)}`);
    }
    ([0, 1] as const).forEach((i) => {
      const p = a.output_padding[i];
      if (p >= Math.max(a.strides[i], a.dilations[i])) {
        throw new ShapeError(`${where}: output padding ${p} must be smaller than the stride or dilation (${a.strides[i]}, ${a.dilations[i]})`);
      }
    });
    return [{ shape: [n, cout, convTransposeOutDim(h, kh, a, 0), convTransposeOutDim(wd, kw, a, 1)], dtype: x.dtype }];
  },
  vjp: ([g], { inputs: [x, w, b], attrs }) => {
    const kernel = staticKernel(w, 'conv2dTranspose gradient');
    const convAttrs: ConvAttrs = { strides: attrs.strides, pads: attrs.pads, dilations: attrs.dilations, group: 1 };
    const dx = currentGraph().apply(Conv, [g, w], convAttrs)[0];
    const dw = swapBatchChannels(kernelGrad(g, x, attrs, kernel));
    return b ? [dx, dw, biasGrad(g)] : [dx, dw];
  },
};

export interface Conv2dOptions {
  strides?: SpatialArg;
  pads?: PaddingArg;
  dilations?: SpatialArg;
  groups?: number;
}

/** 2-D cross-correlation, NCHW. `w` is [out, in/groups, kh, kw] (PyTorch layout); `b` is [out]. */
export function conv2d(x: Tensor, w: Tensor, b?: Tensor | null, opts: Conv2dOptions = {}): Tensor {
  const attrs: ConvAttrs = {
    strides: pair(opts.strides, 1),
    pads: fourPads(opts.pads),
    dilations: pair(opts.dilations, 1),
    group: opts.groups ?? 1,
  };
  return currentGraph().apply(Conv, b ? [x, w, b] : [x, w], attrs)[0];
}

export interface Conv2dTransposeOptions {
  strides?: SpatialArg;
  pads?: PaddingArg;
  dilations?: SpatialArg;
  outputPadding?: SpatialArg;
}

/** Transposed convolution, NCHW. `w` is [in, out, kh, kw] (PyTorch layout); `b` is [out]. */
export function conv2dTranspose(x: Tensor, w: Tensor, b?: Tensor | null, opts: Conv2dTransposeOptions = {}): Tensor {
  const attrs: ConvTransposeAttrs = {
    strides: pair(opts.strides, 1),
    pads: fourPads(opts.pads),
    dilations: pair(opts.dilations, 1),
    output_padding: pair(opts.outputPadding, 0),
  };
  return currentGraph().apply(ConvTranspose, b ? [x, w, b] : [x, w], attrs)[0];
}

// --- normalisation -------------------------------------------------------------------

/** A per-channel [C] tensor reshaped to broadcast against `x` along `axis`. */
function alongAxis(v: Tensor, x: Tensor, axis: number): Tensor {
  return reshape(v, x.shape.map((_, i) => (i === axis ? -1 : 1)));
}

function checkChannelVector(name: string, v: Tensor, x: Tensor, axis: number, where: string): void {
  const c = x.shape[axis];
  if (v.rank !== 1 || (typeof c === 'number' && typeof v.shape[0] === 'number' && v.shape[0] !== c)) {
    throw new ShapeError(`${where}: ${name} must be [${c}] for input ${formatShape(x.shape)} (axis ${axis}), received ${formatShape(v.shape)}`);
  }
}

const BatchNormalization: OpDef<{ epsilon: number }, [x: Tensor, gamma: Tensor, beta: Tensor, mean: Tensor, variance: Tensor]> = {
  name: 'BatchNormalization',
  attrTypes: { epsilon: 'float' },
  infer: sameAsInput,
  // Inference mode: an affine map per channel with fixed statistics.
  vjp: ([g], { inputs: [x, gamma, , runMean, runVar], attrs }) => {
    const invStd = alongAxis(rsqrt(add(runVar, attrs.epsilon)), x, 1);
    const xhat = mul(sub(x, alongAxis(runMean, x, 1)), invStd);
    const axes = x.shape.map((_, i) => i).filter((i) => i !== 1);
    return [mul(g, mul(alongAxis(gamma, x, 1), invStd)), sum(mul(g, xhat), axes), sum(g, axes), null, null];
  },
};

/**
 * How running statistics are updated. 'torch': running = (1−m)·running + m·batch,
 * with the unbiased batch variance (PyTorch, m = 0.1). 'keras': running =
 * m·running + (1−m)·batch, with the biased variance (Keras, m = 0.99).
 */
export type MomentumConvention = 'torch' | 'keras';

export interface BatchNormOptions {
  training: boolean;
  runningMean: Tensor;
  runningVar: Tensor;
  /** Default 0.1 ('torch') or 0.99 ('keras'). */
  momentum?: number;
  convention?: MomentumConvention;
  /** Default 1e-5 ('torch') or 1e-3 ('keras'). */
  epsilon?: number;
  /** The channel axis; default 1 (NCHW / [N, C]). */
  axis?: number;
}

export interface BatchNormResult {
  y: Tensor;
  /** The statistics to write back: updated in training, the inputs unchanged in inference. */
  runningMean: Tensor;
  runningVar: Tensor;
}

/** Batch normalisation over every axis but `axis`, for [N, C] and [N, C, H, W] alike. */
export function batchNorm(x: Tensor, gamma: Tensor, beta: Tensor, opts: BatchNormOptions): BatchNormResult {
  const convention = opts.convention ?? 'torch';
  const epsilon = opts.epsilon ?? (convention === 'torch' ? 1e-5 : 1e-3);
  const axis = normalizeAxis(opts.axis ?? 1, x.rank, 'batchNorm');
  const where = currentGraph().scopePath || 'batchNorm';
  for (const [name, v] of [['gamma', gamma], ['beta', beta], ['running mean', opts.runningMean], ['running variance', opts.runningVar]] as const) {
    checkChannelVector(name, v, x, axis, where);
  }
  if (!opts.training) {
    if (axis === 1) {
      const y = currentGraph().apply(BatchNormalization, [x, gamma, beta, opts.runningMean, opts.runningVar], { epsilon })[0];
      return { y, runningMean: opts.runningMean, runningVar: opts.runningVar };
    }
    const invStd = rsqrt(add(alongAxis(opts.runningVar, x, axis), epsilon));
    const y = affine(mul(sub(x, alongAxis(opts.runningMean, x, axis)), invStd), gamma, beta, x, axis);
    return { y, runningMean: opts.runningMean, runningVar: opts.runningVar };
  }
  const axes = x.shape.map((_, i) => i).filter((i) => i !== axis);
  const batchMean = mean(x, axes, true);
  const centered = sub(x, batchMean);
  const batchVar = mean(mul(centered, centered), axes, true);
  const y = affine(mul(centered, rsqrt(add(batchVar, epsilon))), gamma, beta, x, axis);
  const channelMean = reshape(batchMean, [-1]);
  const channelVar = reshape(batchVar, [-1]);
  const momentum = opts.momentum ?? (convention === 'torch' ? 0.1 : 0.99);
  if (convention === 'torch') {
    const unbiased = mul(channelVar, besselFactor(reducedCount(x, axes)));
    return { y, runningMean: blend(opts.runningMean, channelMean, momentum), runningVar: blend(opts.runningVar, unbiased, momentum) };
  }
  return { y, runningMean: blend(opts.runningMean, channelMean, 1 - momentum), runningVar: blend(opts.runningVar, channelVar, 1 - momentum) };
}

const affine = (xhat: Tensor, gamma: Tensor, beta: Tensor, x: Tensor, axis: number): Tensor =>
  add(mul(xhat, alongAxis(gamma, x, axis)), alongAxis(beta, x, axis));

/** n/(n−1): turns a biased variance over n elements into the unbiased one. */
const besselFactor = (n: Operand): Operand => (typeof n === 'number' ? n / (n - 1) : div(n, sub(n, 1)));

/** (1 − w)·old + w·batch. */
const blend = (old: Tensor, batch: Tensor, w: number): Tensor => add(mul(old, 1 - w), mul(batch, w));

const LayerNormalization: OpDef<{ axis: number; epsilon: number }, [x: Tensor, gamma: Tensor, beta: Tensor], [y: Tensor, mean: Tensor, invStd: Tensor]> = {
  name: 'LayerNormalization',
  attrTypes: { axis: 'int', epsilon: 'float' },
  infer: ([x, gamma, beta], { axis }, where) => {
    const normalized = x.shape.slice(axis);
    for (const [name, v] of [['gamma', gamma], ['beta', beta]] as const) {
      if (v.rank !== normalized.length || v.shape.some((d, i) => typeof d === 'number' && typeof normalized[i] === 'number' && d !== normalized[i])) {
        throw new ShapeError(`${where}: ${name} must be ${formatShape(normalized)} for input ${formatShape(x.shape)}, received ${formatShape(v.shape)}`);
      }
    }
    // Outputs: Y, and the Mean and InvStdDev the gradient reuses.
    const statShape = x.shape.map((d, i) => (i < axis ? d : 1));
    return [
      { shape: [...x.shape], dtype: x.dtype },
      { shape: statShape, dtype: 'float32' },
      { shape: statShape, dtype: 'float32' },
    ];
  },
  vjp: ([g, gMean, gInvStd], { inputs: [x, gamma], outputs: [, mu, invStd], attrs }) => {
    // Mean and InvStdDev are read only by this rule, never by model code.
    if (!g || gMean || gInvStd) throw new GraphError('layerNorm gradient: only the output Y can carry a gradient');
    const axes = x.shape.map((_, i) => i).filter((i) => i >= attrs.axis);
    const xhat = mul(sub(x, mu), invStd);
    const gxhat = mul(g, gamma);
    const dx = mul(invStd, sub(sub(gxhat, mean(gxhat, axes, true)), mul(xhat, mean(mul(gxhat, xhat), axes, true))));
    // Returned at x's shape; the engine sums them over the leading axes.
    return [dx, mul(g, xhat), g];
  },
};

export interface LayerNormOptions {
  /** First normalised axis; every axis from it to the last is normalised. Default -1. */
  axis?: number;
  epsilon?: number;
}

/** Layer normalisation over axes [axis, rank); `gamma` and `beta` have the normalised shape. */
export function layerNorm(x: Tensor, gamma: Tensor, beta: Tensor, opts: LayerNormOptions = {}): Tensor {
  const axis = normalizeAxis(opts.axis ?? -1, x.rank, 'layerNorm');
  return currentGraph().apply(LayerNormalization, [x, gamma, beta], { axis, epsilon: opts.epsilon ?? 1e-5 })[0];
}

// --- dropout ---------------------------------------------------------------------------

const Dropout: OpDef<{ _rate: number } | { seed: number; _rate: number }, [x: Tensor, ratio: Tensor, training: Tensor], [y: Tensor, mask: Tensor]> = {
  name: 'Dropout',
  attrTypes: { seed: 'int' },
  infer: ([x]) => [
    { shape: [...x.shape], dtype: x.dtype },
    { shape: [...x.shape], dtype: 'bool' },
  ],
  // The mask is bool, so only y can carry a gradient.
  vjp: ([g], { outputs: [, mask], attrs }) => [g && where(mask, mul(g, 1 / (1 - attrs._rate)), 0), null, null],
};

export interface DropoutOptions {
  training: boolean;
  /** Fixes the mask sequence of a session (see core/ops/random.ts for how ORT seeds). */
  seed?: number;
}

/**
 * Inverted dropout: in training, zero each element with probability `rate`
 * and scale the rest by 1/(1−rate); in inference, the identity.
 */
export function dropout(x: Tensor, rate: number, opts: DropoutOptions): Tensor {
  if (!(rate >= 0 && rate < 1)) throw new ShapeError(`dropout: rate must be in [0, 1), received ${rate}`);
  if (!opts.training || rate === 0) return x;
  const attrs = opts.seed === undefined ? { _rate: rate } : { seed: opts.seed, _rate: rate };
  return currentGraph().apply(Dropout, [x, scalar(rate, x.dtype), scalar(1, 'bool')], attrs)[0];
}

// --- indexing helpers -------------------------------------------------------------------

const Range: OpDef<{ _shape: readonly Dim[] }, [start: Tensor, end: Tensor, step: Tensor]> = {
  name: 'Range',
  infer: (_inputs, { _shape }) => [{ shape: [..._shape], dtype: 'int64' }],
  vjp: nonDifferentiable,
};

/** [start, start+step, …) below `end`, as int64; not differentiable. Tensor bounds must be int64 scalars. */
export function range(start: Operand, end: Operand, step = 1): Tensor {
  if (step === 0 || !Number.isInteger(step)) throw new ShapeError(`range: step must be a non-zero integer, received ${step}`);
  const length = typeof start === 'number' && typeof end === 'number' ? Math.max(0, Math.ceil((end - start) / step)) : freshDim('range');
  const bound = (v: Operand): Tensor => (typeof v === 'number' ? scalar(v, 'int64') : v);
  return currentGraph().apply(Range, [bound(start), bound(end), scalar(step, 'int64')], { _shape: [length] })[0];
}

const Trilu: OpDef<{ upper: number }, [x: Tensor, k: Tensor]> = {
  name: 'Trilu',
  attrTypes: { upper: 'int' },
  infer: ([x], _attrs, where) => {
    if (x.rank < 2) throw new ShapeError(`${where}: needs rank ≥ 2, received ${formatShape(x.shape)}`);
    return [{ shape: [...x.shape], dtype: x.dtype }];
  },
  vjp: ([g], { inputs: [, k], attrs }) => [currentGraph().apply(Trilu, [g, k], attrs)[0], null],
};

/** Keep the lower (or upper) triangle of the last two axes, from diagonal `k` on. */
export function trilu(x: Tensor, opts: { upper?: boolean; k?: number } = {}): Tensor {
  return currentGraph().apply(Trilu, [x, scalar(opts.k ?? 0, 'int64')], { upper: opts.upper ? 1 : 0 })[0];
}

const CumSum: OpDef<{ exclusive: number; reverse: number }, [x: Tensor, axis: Tensor]> = {
  name: 'CumSum',
  attrTypes: { exclusive: 'int', reverse: 'int' },
  infer: sameAsInput,
  // The transpose of a running sum is the running sum in the other direction.
  vjp: ([g], { inputs: [, axis], attrs }) => [
    currentGraph().apply(CumSum, [g, axis], { exclusive: attrs.exclusive, reverse: 1 - attrs.reverse })[0],
    null,
  ],
};

/** Running sum along `axis`. */
export function cumsum(x: Tensor, axis: number, opts: { exclusive?: boolean; reverse?: boolean } = {}): Tensor {
  const ax = normalizeAxis(axis, x.rank, 'cumsum');
  const attrs = { exclusive: opts.exclusive ? 1 : 0, reverse: opts.reverse ? 1 : 0 };
  return currentGraph().apply(CumSum, [x, scalar(ax, 'int64')], attrs)[0];
}
