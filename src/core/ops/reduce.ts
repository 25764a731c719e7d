/** Reductions over axes. `axes` omitted means every axis. */
import { currentGraph, nonDifferentiable, type OpDef, type Tensor, type TensorType } from '../graph.js';
import { dimAt, normalizeAxis, sizeOf, type Dim } from '../shape.js';
import { cast, div, equal, mul } from './elementwise.js';
import { expandTo, gather, shapeOf, unsqueeze } from './movement.js';
import { int64s } from './util.js';

type ReduceAttrs = { keepdims: number; _axes: readonly number[] };
/** The data, and the axes unless every axis is reduced. */
type ReduceInputs = [x: Tensor] | [x: Tensor, axes: Tensor];
type Reduce = OpDef<ReduceAttrs, ReduceInputs>;

function reduceInfer([x]: ReduceInputs, { keepdims, _axes }: ReduceAttrs): [TensorType] {
  const shape: Dim[] = [];
  x.shape.forEach((d, i) => {
    if (!_axes.includes(i)) shape.push(d);
    else if (keepdims) shape.push(1);
  });
  return [{ shape, dtype: x.dtype }];
}

/** The upstream gradient broadcast back to the input's shape. */
function spread(g: Tensor, x: Tensor, { keepdims, _axes }: ReduceAttrs): Tensor {
  const kept = keepdims || g.rank === 0 ? g : unsqueeze(g, _axes);
  return expandTo(kept, x);
}

/** The data's gradient, and none for the axes input if there is one. */
const dataGrad = (dx: Tensor, axes: Tensor | undefined): [Tensor] | [Tensor, null] => (axes ? [dx, null] : [dx]);

/** Number of elements each output element reduced over, as a float scalar. */
export function reducedCount(x: Tensor, axes: readonly number[]): Tensor | number {
  return sizeOf(axes.map((a) => dimAt(x.shape, a))) ?? cast(prod(gather(shapeOf(x), int64s(axes))), x.dtype);
}

const ReduceSum: Reduce = {
  name: 'ReduceSum',
  attrTypes: { keepdims: 'int' },
  infer: reduceInfer,
  vjp: ([g], { inputs: [x, axes], attrs }) => dataGrad(spread(g, x, attrs), axes),
};
const ReduceMean: Reduce = {
  name: 'ReduceMean',
  attrTypes: { keepdims: 'int' },
  infer: reduceInfer,
  vjp: ([g], { inputs: [x, axes], attrs }) => dataGrad(div(spread(g, x, attrs), reducedCount(x, attrs._axes)), axes),
};
/** Σx² in one pass, without materialising x². */
const ReduceSumSquare: Reduce = {
  name: 'ReduceSumSquare',
  attrTypes: { keepdims: 'int' },
  infer: reduceInfer,
  vjp: ([g], { inputs: [x, axes], attrs }) => dataGrad(mul(spread(g, x, attrs), mul(x, 2)), axes),
};
function extremumVjp(g: Tensor, x: Tensor, y: Tensor, attrs: ReduceAttrs): Tensor {
  const mask = cast(equal(x, spread(y, x, attrs)), x.dtype);
  return mul(spread(g, x, attrs), mask);
}
const ReduceMax: Reduce = {
  name: 'ReduceMax',
  attrTypes: { keepdims: 'int' },
  infer: reduceInfer,
  vjp: ([g], { inputs: [x, axes], outputs: [y], attrs }) => dataGrad(extremumVjp(g, x, y, attrs), axes),
};
const ReduceMin: Reduce = {
  name: 'ReduceMin',
  attrTypes: { keepdims: 'int' },
  infer: reduceInfer,
  vjp: ([g], { inputs: [x, axes], outputs: [y], attrs }) => dataGrad(extremumVjp(g, x, y, attrs), axes),
};
const ReduceProd: Reduce = { name: 'ReduceProd', attrTypes: { keepdims: 'int' }, infer: reduceInfer, vjp: nonDifferentiable };

function reduce(op: Reduce, x: Tensor, axes: readonly number[] | undefined, keepdims: boolean): Tensor {
  const all = x.shape.map((_, i) => i);
  const normalized = axes === undefined ? all : axes.map((a) => normalizeAxis(a, x.rank, op.name));
  const attrs: ReduceAttrs = { keepdims: keepdims ? 1 : 0, _axes: [...new Set(normalized)].sort((a, b) => a - b) };
  const inputs: ReduceInputs = axes === undefined ? [x] : [x, int64s(attrs._axes)];
  return currentGraph().apply(op, inputs, attrs)[0];
}

export const sum = (x: Tensor, axes?: readonly number[], keepdims = false): Tensor => reduce(ReduceSum, x, axes, keepdims);
export const sumSquares = (x: Tensor, axes?: readonly number[], keepdims = false): Tensor => reduce(ReduceSumSquare, x, axes, keepdims);
export const mean = (x: Tensor, axes?: readonly number[], keepdims = false): Tensor => reduce(ReduceMean, x, axes, keepdims);
export const max = (x: Tensor, axes?: readonly number[], keepdims = false): Tensor => reduce(ReduceMax, x, axes, keepdims);
export const min = (x: Tensor, axes?: readonly number[], keepdims = false): Tensor => reduce(ReduceMin, x, axes, keepdims);
export const prod = (x: Tensor, axes?: readonly number[], keepdims = false): Tensor => reduce(ReduceProd, x, axes, keepdims);

const ArgMax: OpDef<{ axis: number; keepdims: number }, [Tensor]> = {
  name: 'ArgMax',
  attrTypes: { axis: 'int', keepdims: 'int' },
  infer: ([x], { axis, keepdims }) => [
    { shape: x.shape.flatMap((d, i) => (i === axis ? (keepdims ? [1] : []) : [d])), dtype: 'int64' },
  ],
  vjp: nonDifferentiable,
};

export function argmax(x: Tensor, axis = -1, keepdims = false): Tensor {
  return currentGraph().apply(ArgMax, [x], { axis: normalizeAxis(axis, x.rank, 'argmax'), keepdims: keepdims ? 1 : 0 })[0];
}
