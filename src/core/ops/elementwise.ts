/**
 * Elementwise arithmetic with numpy broadcasting. Gradients are returned at
 * the output's shape; the autodiff engine sums them back over broadcast axes.
 */
import { currentGraph, nonDifferentiable, type Attrs, type OpDef, type Tensor, type TensorType } from '../graph.js';
import { isFloat, ONNX_DTYPE, type DType } from '../dtype.js';
import { broadcastShapes, ShapeError } from '../shape.js';
import { dtypeOf, lift, sameAsInput, type Operand } from './util.js';

type Unary = OpDef<Attrs, [Tensor]>;
type Binary = OpDef<Attrs, [Tensor, Tensor]>;

function binaryInfer(out?: DType) {
  return ([a, b]: [Tensor, Tensor], _attrs: unknown, where: string): [TensorType] => {
    if (a.dtype !== b.dtype) throw new ShapeError(`${where}: dtype mismatch ${a.dtype} vs ${b.dtype}`);
    return [{ shape: broadcastShapes(a.shape, b.shape, where), dtype: out ?? a.dtype }];
  };
}

function binary(op: Binary, a: Operand, b: Operand): Tensor {
  const dtype = dtypeOf(a, b);
  return currentGraph().apply(op, [lift(a, dtype), lift(b, dtype)], {})[0];
}

function unary(op: Unary, x: Tensor): Tensor {
  return currentGraph().apply(op, [x], {})[0];
}

// --- binary arithmetic -------------------------------------------------------

const Add: Binary = { name: 'Add', infer: binaryInfer(), vjp: ([g]) => [g, g] };
const Sub: Binary = { name: 'Sub', infer: binaryInfer(), vjp: ([g]) => [g, neg(g)] };
const Mul: Binary = {
  name: 'Mul',
  infer: binaryInfer(),
  vjp: ([g], { inputs: [a, b] }) => [mul(g, b), mul(g, a)],
};
const Div: Binary = {
  name: 'Div',
  infer: binaryInfer(),
  // d(a/b)/db = -a/b² = -out/b
  vjp: ([g], { inputs: [, b], outputs: [out] }) => [div(g, b), neg(div(mul(g, out), b))],
};
const Pow: Binary = {
  name: 'Pow',
  infer: binaryInfer(),
  vjp: ([g], { inputs: [a, b], outputs: [out] }) => [
    mul(g, mul(b, pow(a, sub(b, 1)))),
    mul(g, mul(out, log(a))),
  ],
};
const Max: Binary = {
  name: 'Max',
  infer: binaryInfer(),
  vjp: ([g], { inputs: [a, b] }) => {
    const aWins = greaterOrEqual(a, b);
    return [where(aWins, g, 0), where(aWins, 0, g)];
  },
};
const Min: Binary = {
  name: 'Min',
  infer: binaryInfer(),
  vjp: ([g], { inputs: [a, b] }) => {
    const aWins = lessOrEqual(a, b);
    return [where(aWins, g, 0), where(aWins, 0, g)];
  },
};

export const add = (a: Operand, b: Operand): Tensor => binary(Add, a, b);
export const sub = (a: Operand, b: Operand): Tensor => binary(Sub, a, b);
export const mul = (a: Operand, b: Operand): Tensor => binary(Mul, a, b);
export const div = (a: Operand, b: Operand): Tensor => binary(Div, a, b);
export const pow = (a: Operand, b: Operand): Tensor => binary(Pow, a, b);
export const maximum = (a: Operand, b: Operand): Tensor => binary(Max, a, b);
export const minimum = (a: Operand, b: Operand): Tensor => binary(Min, a, b);

// --- comparisons and selection (not differentiable) ---------------------------

const Equal: Binary = { name: 'Equal', infer: binaryInfer('bool'), vjp: nonDifferentiable };
const Less: Binary = { name: 'Less', infer: binaryInfer('bool'), vjp: nonDifferentiable };
const Greater: Binary = { name: 'Greater', infer: binaryInfer('bool'), vjp: nonDifferentiable };
const LessOrEqual: Binary = { name: 'LessOrEqual', infer: binaryInfer('bool'), vjp: nonDifferentiable };
const GreaterOrEqual: Binary = { name: 'GreaterOrEqual', infer: binaryInfer('bool'), vjp: nonDifferentiable };
const And: Binary = { name: 'And', infer: binaryInfer('bool'), vjp: nonDifferentiable };
const Not: Unary = { name: 'Not', infer: sameAsInput, vjp: nonDifferentiable };

export const equal = (a: Operand, b: Operand): Tensor => binary(Equal, a, b);
export const less = (a: Operand, b: Operand): Tensor => binary(Less, a, b);
export const greater = (a: Operand, b: Operand): Tensor => binary(Greater, a, b);
export const lessOrEqual = (a: Operand, b: Operand): Tensor => binary(LessOrEqual, a, b);
export const greaterOrEqual = (a: Operand, b: Operand): Tensor => binary(GreaterOrEqual, a, b);
export const and = (a: Tensor, b: Tensor): Tensor => binary(And, a, b);
export const not = (a: Tensor): Tensor => unary(Not, a);

const Where: OpDef<Attrs, [Tensor, Tensor, Tensor]> = {
  name: 'Where',
  infer: ([c, a, b], _attrs, where) => {
    if (c.dtype !== 'bool') throw new ShapeError(`${where}: condition must be bool, got ${c.dtype}`);
    if (a.dtype !== b.dtype) throw new ShapeError(`${where}: branch dtypes differ: ${a.dtype} vs ${b.dtype}`);
    const shape = broadcastShapes(broadcastShapes(c.shape, a.shape, where), b.shape, where);
    return [{ shape, dtype: a.dtype }];
  },
  vjp: ([g], { inputs: [c] }) => [null, where(c, g, 0), where(c, 0, g)],
};

/** `cond ? a : b`, elementwise with broadcasting. */
export function where(cond: Tensor, a: Operand, b: Operand): Tensor {
  const dtype = dtypeOf(a, b);
  return currentGraph().apply(Where, [cond, lift(a, dtype), lift(b, dtype)], {})[0];
}

const Cast: OpDef<{ to: number; _dtype: DType }, [Tensor]> = {
  name: 'Cast',
  attrTypes: { to: 'int' },
  infer: ([x], { _dtype }) => [{ shape: [...x.shape], dtype: _dtype }],
  vjp: ([g], { inputs: [x] }) => [isFloat(x.dtype) ? cast(g, x.dtype) : null],
};

export function cast(x: Tensor, dtype: DType): Tensor {
  if (x.dtype === dtype) return x;
  return currentGraph().apply(Cast, [x], { to: ONNX_DTYPE[dtype], _dtype: dtype })[0];
}

// --- unary math --------------------------------------------------------------

const Neg: Unary = { name: 'Neg', infer: sameAsInput, vjp: ([g]) => [neg(g)] };
const Exp: Unary = { name: 'Exp', infer: sameAsInput, vjp: ([g], { outputs: [y] }) => [mul(g, y)] };
const Log: Unary = { name: 'Log', infer: sameAsInput, vjp: ([g], { inputs: [x] }) => [div(g, x)] };
const Sqrt: Unary = { name: 'Sqrt', infer: sameAsInput, vjp: ([g], { outputs: [y] }) => [div(g, mul(y, 2))] };
const Abs: Unary = { name: 'Abs', infer: sameAsInput, vjp: ([g], { inputs: [x] }) => [mul(g, sign(x))] };
const Sign: Unary = { name: 'Sign', infer: sameAsInput, vjp: nonDifferentiable };
const Reciprocal: Unary = {
  name: 'Reciprocal',
  infer: sameAsInput,
  vjp: ([g], { outputs: [y] }) => [neg(mul(g, mul(y, y)))],
};
const Erf: Unary = {
  name: 'Erf',
  infer: sameAsInput,
  // d erf(x)/dx = 2/√π · exp(-x²)
  vjp: ([g], { inputs: [x] }) => [mul(g, mul(exp(neg(mul(x, x))), 2 / Math.sqrt(Math.PI)))],
};

export const neg = (x: Tensor): Tensor => unary(Neg, x);
export const exp = (x: Tensor): Tensor => unary(Exp, x);
export const log = (x: Tensor): Tensor => unary(Log, x);
export const sqrt = (x: Tensor): Tensor => unary(Sqrt, x);
export const abs = (x: Tensor): Tensor => unary(Abs, x);
export const sign = (x: Tensor): Tensor => unary(Sign, x);
export const reciprocal = (x: Tensor): Tensor => unary(Reciprocal, x);
export const erf = (x: Tensor): Tensor => unary(Erf, x);
export const square = (x: Tensor): Tensor => mul(x, x);

const Clip: OpDef<Attrs, [Tensor, Tensor, Tensor]> = {
  name: 'Clip',
  infer: sameAsInput,
  vjp: ([g], { inputs: [x, lo, hi] }) => [where(and(greaterOrEqual(x, lo), lessOrEqual(x, hi)), g, 0), null, null],
};

/** Clamp to [lo, hi]; the gradient passes where the input is inside. */
export function clip(x: Tensor, lo: number, hi: number): Tensor {
  return currentGraph().apply(Clip, [x, lift(lo, x.dtype), lift(hi, x.dtype)], {})[0];
}

// --- custom gradients -----------------------------------------------------------
const StopGradient: Unary = {
  name: 'StopGradient',
  onnx: 'Identity',
  infer: ([x]) => [{ shape: [...x.shape], dtype: x.dtype }],
  vjp: () => [null],
};

/** `x`, through which no gradient flows. */
export function stopGradient(x: Tensor): Tensor {
  return currentGraph().apply(StopGradient, [x], {})[0];
}

/**
 * The value of `value` with the gradient of `surrogate`:
 * value + (surrogate − stopGradient(surrogate)). `value` should already stop gradients.
 */
export function withGradientOf(value: Tensor, surrogate: Tensor): Tensor {
  return add(value, sub(surrogate, stopGradient(surrogate)));
}
