/**
 * Random tensors drawn inside the graph by ONNX Runtime (RandomNormal,
 * RandomUniform and their *Like forms). Not differentiable: a sample does
 * not depend on the values of the tensor whose shape it copies.
 *
 * Seeding, as ONNX Runtime (1.30) does it: each node owns a generator seeded
 * once when the session is created. Every `run` continues that node's
 * sequence, so two runs of one session draw different values, and a fresh
 * session with the same seed repeats the same sequence (two nodes with the
 * same seed draw the same values). Without a seed, ORT derives the node
 * seeds from one random seed per process: a graph compiled twice in one
 * process repeats its draws, a new process does not. Dropout's mask
 * (core/ops/nn.ts) follows the same rules.
 */
import { ONNX_DTYPE } from '../dtype.js';
import { currentGraph, nonDifferentiable, Tensor, type OpDef, type TensorType } from '../graph.js';
import { formatShape, ShapeError } from '../shape.js';

/** Samples are always float32 (the ONNX `dtype` attribute is fixed to it). */
type RandomAttrs = Record<string, number | readonly number[]>;

const fromShapeAttr = (_inputs: [], attrs: RandomAttrs): [TensorType] => [
  { shape: [...(attrs.shape as readonly number[])], dtype: 'float32' },
];
const likeInput = ([like]: [Tensor]): [TensorType] => [{ shape: [...like.shape], dtype: 'float32' }];
// The sample does not depend on the values of `like`, only on its shape.
const noGradient = (): [null] => [null];

const NORMAL_ATTRS = { dtype: 'int', mean: 'float', scale: 'float', seed: 'float', shape: 'ints' } as const;
const UNIFORM_ATTRS = { dtype: 'int', low: 'float', high: 'float', seed: 'float', shape: 'ints' } as const;

type Fixed = OpDef<RandomAttrs, []>;
type Like = OpDef<RandomAttrs, [Tensor]>;

// No inputs, so no gradient can ever be asked of them.
const RandomNormal: Fixed = { name: 'RandomNormal', attrTypes: NORMAL_ATTRS, infer: fromShapeAttr, vjp: nonDifferentiable };
const RandomNormalLike: Like = { name: 'RandomNormalLike', attrTypes: NORMAL_ATTRS, infer: likeInput, vjp: noGradient };
const RandomUniform: Fixed = { name: 'RandomUniform', attrTypes: UNIFORM_ATTRS, infer: fromShapeAttr, vjp: nonDifferentiable };
const RandomUniformLike: Like = { name: 'RandomUniformLike', attrTypes: UNIFORM_ATTRS, infer: likeInput, vjp: noGradient };

/** A static shape, or a tensor whose (possibly symbolic) shape the sample copies. */
export type ShapeOrLike = readonly number[] | Tensor;

export interface RandomNormalOptions {
  mean?: number;
  std?: number;
  /** Omitted: seeded by ONNX Runtime, differently in each process (see above). */
  seed?: number;
}

export interface RandomUniformOptions {
  low?: number;
  high?: number;
  seed?: number;
}

function draw(shapeOrLike: ShapeOrLike, fixed: Fixed, like: Like, attrs: Record<string, number>, where: string): Tensor {
  const g = currentGraph();
  const full: RandomAttrs = { ...attrs, dtype: ONNX_DTYPE.float32 };
  if (shapeOrLike instanceof Tensor) return g.apply(like, [shapeOrLike], full)[0];
  if (!shapeOrLike.every((d) => Number.isInteger(d) && d >= 0)) {
    throw new ShapeError(`${where}: shape must be non-negative integers, received ${formatShape(shapeOrLike)}`);
  }
  return g.apply(fixed, [], { ...full, shape: shapeOrLike })[0];
}

/** Float32 samples of N(mean, std²). */
export function randomNormal(shapeOrLike: ShapeOrLike, opts: RandomNormalOptions = {}): Tensor {
  const attrs = { mean: opts.mean ?? 0, scale: opts.std ?? 1, ...(opts.seed === undefined ? {} : { seed: opts.seed }) };
  return draw(shapeOrLike, RandomNormal, RandomNormalLike, attrs, 'randomNormal');
}

/** Float32 samples of U[low, high). */
export function randomUniform(shapeOrLike: ShapeOrLike, opts: RandomUniformOptions = {}): Tensor {
  const low = opts.low ?? 0;
  const high = opts.high ?? 1;
  if (!(high > low)) throw new ShapeError(`randomUniform: high (${high}) must be greater than low (${low})`);
  return draw(shapeOrLike, RandomUniform, RandomUniformLike, { low, high, ...(opts.seed === undefined ? {} : { seed: opts.seed }) }, 'randomUniform');
}
