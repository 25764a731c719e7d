/** Matrix products. */
import { currentGraph, type Attrs, type OpDef, type Tensor } from '../graph.js';
import { broadcastShapes, dimAt, formatShape, ShapeError } from '../shape.js';
import { reshape, transpose } from './movement.js';

/** Swap the last two axes. */
export function transposeLast(x: Tensor): Tensor {
  const r = x.rank;
  return transpose(x, x.shape.map((_, i) => (i === r - 2 ? r - 1 : i === r - 1 ? r - 2 : i)));
}

const MatMul: OpDef<Attrs, [Tensor, Tensor]> = {
  name: 'MatMul',
  infer: ([a, b], _attrs, where) => {
    if (a.rank < 2 || b.rank < 2) {
      throw new ShapeError(`${where}: matmul needs rank ≥ 2 operands, got ${formatShape(a.shape)} and ${formatShape(b.shape)}`);
    }
    const [m, k] = [dimAt(a.shape, -2), dimAt(a.shape, -1)];
    const [k2, n] = [dimAt(b.shape, -2), dimAt(b.shape, -1)];
    if (typeof k === 'number' && typeof k2 === 'number' && k !== k2) {
      throw new ShapeError(`${where}: inner dimensions differ: ${formatShape(a.shape)} @ ${formatShape(b.shape)} (${k} vs ${k2})`);
    }
    const batch = broadcastShapes(a.shape.slice(0, -2), b.shape.slice(0, -2), where);
    return [{ shape: [...batch, m, n], dtype: a.dtype }];
  },
  vjp: ([g], { inputs: [a, b] }) => {
    const ga = matmul(g, transposeLast(b));
    // A weight matrix shared over batch axes: fold them into one product
    // instead of a batched product followed by a reduction.
    if (b.rank === 2 && a.rank > 2) {
      const k = dimAt(a.shape, -1);
      const n = dimAt(g.shape, -1);
      return [ga, matmul(transpose(reshape(a, [-1, k]), [1, 0]), reshape(g, [-1, n]))];
    }
    return [ga, matmul(transposeLast(a), g)];
  },
};

export function matmul(a: Tensor, b: Tensor): Tensor {
  return currentGraph().apply(MatMul, [a, b], {})[0];
}
