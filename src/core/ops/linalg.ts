/** Matrix products. */
import { currentGraph, type OpDef, type Tensor } from '../graph.js';
import { broadcastShapes, formatShape, ShapeError } from '../shape.js';
import { reshape, transpose } from './movement.js';

/** Swap the last two axes. */
export function transposeLast(x: Tensor): Tensor {
  const perm = x.shape.map((_, i) => i);
  [perm[x.rank - 2], perm[x.rank - 1]] = [perm[x.rank - 1]!, perm[x.rank - 2]!];
  return transpose(x, perm);
}

const MatMul: OpDef = {
  name: 'MatMul',
  infer: ([a, b], _attrs, where) => {
    if (a!.rank < 2 || b!.rank < 2) {
      throw new ShapeError(`${where}: matmul needs rank ≥ 2 operands, got ${formatShape(a!.shape)} and ${formatShape(b!.shape)}`);
    }
    const [m, k] = a!.shape.slice(-2);
    const [k2, n] = b!.shape.slice(-2);
    if (typeof k === 'number' && typeof k2 === 'number' && k !== k2) {
      throw new ShapeError(`${where}: inner dimensions differ: ${formatShape(a!.shape)} @ ${formatShape(b!.shape)} (${k} vs ${k2})`);
    }
    const batch = broadcastShapes(a!.shape.slice(0, -2), b!.shape.slice(0, -2), where);
    return [{ shape: [...batch, m!, n!], dtype: a!.dtype }];
  },
  vjp: ([g], { inputs: [a, b] }) => {
    const ga = matmul(g!, transposeLast(b!));
    // A weight matrix shared over batch axes: fold them into one product
    // instead of a batched product followed by a reduction.
    if (b!.rank === 2 && a!.rank > 2) {
      const k = a!.shape[a!.rank - 1]!;
      const n = g!.shape[g!.rank - 1]!;
      return [ga, matmul(transpose(reshape(a!, [-1, k]), [1, 0]), reshape(g!, [-1, n]))];
    }
    return [ga, matmul(transposeLast(a!), g!)];
  },
};

export function matmul(a: Tensor, b: Tensor): Tensor {
  return currentGraph().apply(MatMul, [a, b], {})[0]!;
}
