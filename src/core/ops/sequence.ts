/** Trigonometry for position encodings (RoPE tables): Cos and Sin. */
import { currentGraph, type OpDef, type Tensor } from '../graph.js';
import { mul, neg } from './elementwise.js';
import { sameAsInput } from './util.js';

const Cos: OpDef = { name: 'Cos', infer: sameAsInput, vjp: ([g], { inputs: [x] }) => [neg(mul(g!, sin(x!)))] };
const Sin: OpDef = { name: 'Sin', infer: sameAsInput, vjp: ([g], { inputs: [x] }) => [mul(g!, cos(x!))] };

export const cos = (x: Tensor): Tensor => currentGraph().apply(Cos, [x], {})[0]!;
export const sin = (x: Tensor): Tensor => currentGraph().apply(Sin, [x], {})[0]!;
