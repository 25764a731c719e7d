/** Trigonometry for position encodings (RoPE tables): Cos and Sin. */
import { currentGraph, type Attrs, type OpDef, type Tensor } from '../graph.js';
import { mul, neg } from './elementwise.js';
import { sameAsInput } from './util.js';

const Cos: OpDef<Attrs, [Tensor]> = { name: 'Cos', infer: sameAsInput, vjp: ([g], { inputs: [x] }) => [neg(mul(g, sin(x)))] };
const Sin: OpDef<Attrs, [Tensor]> = { name: 'Sin', infer: sameAsInput, vjp: ([g], { inputs: [x] }) => [mul(g, cos(x))] };

export const cos = (x: Tensor): Tensor => currentGraph().apply(Cos, [x], {})[0];
export const sin = (x: Tensor): Tensor => currentGraph().apply(Sin, [x], {})[0];
