/**
 * Activations. Each maps to the native ONNX op (faster in ONNX Runtime than
 * the same math from primitives) with its gradient written beside it.
 */
import { currentGraph, type Attrs, type OpDef, type Tensor } from '../graph.js';
import { normalizeAxis } from '../shape.js';
import { add, erf, exp, greater, mul, sub, where } from './elementwise.js';
import { sum } from './reduce.js';
import { sameAsInput } from './util.js';

const Relu: OpDef<Attrs, [Tensor]> = {
  name: 'Relu',
  infer: sameAsInput,
  vjp: ([g], { inputs: [x] }) => [where(greater(x, 0), g, 0)],
};
const LeakyRelu: OpDef<{ alpha: number }, [Tensor]> = {
  name: 'LeakyRelu',
  attrTypes: { alpha: 'float' },
  infer: sameAsInput,
  vjp: ([g], { inputs: [x], attrs }) => [where(greater(x, 0), g, mul(g, attrs.alpha))],
};
const Sigmoid: OpDef<Attrs, [Tensor]> = {
  name: 'Sigmoid',
  infer: sameAsInput,
  vjp: ([g], { outputs: [y] }) => [mul(g, mul(y, sub(1, y)))],
};
const Tanh: OpDef<Attrs, [Tensor]> = {
  name: 'Tanh',
  infer: sameAsInput,
  vjp: ([g], { outputs: [y] }) => [mul(g, sub(1, mul(y, y)))],
};

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
const GELU_C = 0.044715;

const Gelu: OpDef<{ approximate: string }, [Tensor]> = {
  name: 'Gelu',
  attrTypes: { approximate: 'string' },
  infer: sameAsInput,
  vjp: ([g], { inputs: [x], attrs }) => {
    if (attrs.approximate === 'tanh') {
      // t = tanh(k(x + c·x³)), k = √(2/π); d/dx = ½(1+t) + ½x(1−t²)·k(1 + 3c·x²)
      // = (1+t)·(½ + x(1−t)·(½k + 1.5kc·x²)), by 1−t² = (1−t)(1+t): 14 full-size ops, not 18.
      const k = SQRT_2_OVER_PI;
      const x2 = mul(x, x);
      const t = tanh(mul(x, add(mul(x2, k * GELU_C), k)));
      const halfSlope = add(mul(x2, 1.5 * k * GELU_C), 0.5 * k);
      const d = mul(add(t, 1), add(mul(mul(x, sub(1, t)), halfSlope), 0.5));
      return [mul(g, d)];
    }
    // d/dx x·Φ(x) = Φ(x) + x·φ(x)
    const cdf = mul(add(erf(mul(x, Math.SQRT1_2)), 1), 0.5);
    const pdf = mul(exp(mul(mul(x, x), -0.5)), 1 / Math.sqrt(2 * Math.PI));
    return [mul(g, add(cdf, mul(x, pdf)))];
  },
};

export const relu = (x: Tensor): Tensor => currentGraph().apply(Relu, [x], {})[0];
export const leakyRelu = (x: Tensor, alpha = 0.01): Tensor => currentGraph().apply(LeakyRelu, [x], { alpha })[0];
export const sigmoid = (x: Tensor): Tensor => currentGraph().apply(Sigmoid, [x], {})[0];
export const tanh = (x: Tensor): Tensor => currentGraph().apply(Tanh, [x], {})[0];
/** GELU; `approximate: 'tanh'` is GPT-2's "gelu_new". */
export const gelu = (x: Tensor, approximate: 'none' | 'tanh' = 'none'): Tensor =>
  currentGraph().apply(Gelu, [x], { approximate })[0];
/** x·sigmoid(x), Llama's activation. */
export const silu = (x: Tensor): Tensor => mul(x, sigmoid(x));

const Softmax: OpDef<{ axis: number }, [Tensor]> = {
  name: 'Softmax',
  attrTypes: { axis: 'int' },
  infer: sameAsInput,
  // y ⊙ (g − Σ g⊙y)
  vjp: ([g], { outputs: [y], attrs }) => [mul(y, sub(g, sum(mul(g, y), [attrs.axis], true)))],
};
const LogSoftmax: OpDef<{ axis: number }, [Tensor]> = {
  name: 'LogSoftmax',
  attrTypes: { axis: 'int' },
  infer: sameAsInput,
  // g − softmax ⊙ Σ g
  vjp: ([g], { outputs: [y], attrs }) => [sub(g, mul(exp(y), sum(g, [attrs.axis], true)))],
};

export function softmax(x: Tensor, axis = -1): Tensor {
  return currentGraph().apply(Softmax, [x], { axis: normalizeAxis(axis, x.rank, 'softmax') })[0];
}
export function logSoftmax(x: Tensor, axis = -1): Tensor {
  return currentGraph().apply(LogSoftmax, [x], { axis: normalizeAxis(axis, x.rank, 'logSoftmax') })[0];
}

