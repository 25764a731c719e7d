/** Ops that move or select data without arithmetic: reshape, transpose, slice, gather... */
import { currentGraph, nonDifferentiable, type Attrs, type OpDef, type Tensor, type TensorType } from '../graph.js';
import { dimAt, formatShape, freshDim, normalizeAxis, ShapeError, sizeOf, type Dim, type Shape } from '../shape.js';
import { inversePermutation, int64s, scalar } from './util.js';

/** Ops whose output shape the caller computes (it may depend on runtime values). */
const givenShape = ([x]: readonly [Tensor, ...Tensor[]], attrs: { _shape: readonly Dim[] }): [TensorType] => [
  { shape: [...attrs._shape], dtype: x.dtype },
];

// --- shape queries ------------------------------------------------------------

const ShapeOp: OpDef<Attrs, [Tensor]> = { name: 'Shape', infer: ([x]) => [{ shape: [x.rank], dtype: 'int64' }], vjp: nonDifferentiable };

/** The runtime shape of `x` as a 1-D int64 tensor. */
export const shapeOf = (x: Tensor): Tensor => currentGraph().apply(ShapeOp, [x], {})[0];

// --- reshape family -------------------------------------------------------------

const Reshape: OpDef<{ _shape: readonly Dim[] }, [Tensor, Tensor]> = {
  name: 'Reshape',
  infer: givenShape,
  vjp: ([g], { inputs: [x] }) => [reshapeLike(g, x), null],
};

/**
 * Reshape to `shape`. Entries are numbers, -1 (inferred, at most one), or a
 * symbolic name that appears in `x`'s shape (copied at run time).
 */
export function reshape(x: Tensor, shape: Shape): Tensor {
  const where = currentGraph().scopePath || 'reshape';
  if (shape.filter((d) => d === -1).length > 1) throw new ShapeError(`${where}: reshape target ${formatShape(shape)} has more than one -1`);
  const pieces: (number | Tensor)[] = [];
  const out: Dim[] = [];
  for (const [i, d] of shape.entries()) {
    if (typeof d === 'number') {
      pieces.push(d);
      out.push(d);
      continue;
    }
    const j = x.shape.indexOf(d);
    if (j < 0) throw new ShapeError(`${where}: reshape target dimension '${d}' is not a dimension of the input ${formatShape(x.shape)}`);
    // ONNX Reshape copies the input's dimension where the target says 0.
    pieces.push(j === i ? 0 : gatherDim(x, j));
    out.push(d);
  }
  const known = out.filter((d): d is number => typeof d === 'number' && d !== -1).reduce((a, b) => a * b, 1);
  const total = sizeOf(x.shape);
  const inferred = out.indexOf(-1);
  if (inferred >= 0) {
    if (total !== null && out.every((d) => typeof d === 'number')) {
      if (known === 0 || total % known !== 0) throw new ShapeError(`${where}: cannot reshape ${formatShape(x.shape)} (${total} elements) to ${formatShape(shape)}`);
      out[inferred] = total / known;
    } else {
      out[inferred] = freshDim('d');
    }
  } else if (total !== null && out.every((d) => typeof d === 'number') && known !== total) {
    throw new ShapeError(`${where}: cannot reshape ${formatShape(x.shape)} (${total} elements) to ${formatShape(shape)} (${known} elements)`);
  }
  const shapeTensor = pieces.every((p) => typeof p === 'number')
    ? int64s(pieces as number[])
    : concat(pieces.map((p) => (typeof p === 'number' ? int64s([p]) : p)), 0);
  return currentGraph().apply(Reshape, [x, shapeTensor], { _shape: out })[0];
}

function gatherDim(x: Tensor, axis: number): Tensor {
  return gather(shapeOf(x), int64s([axis]));
}

/** Reshape `x` to the runtime shape of `like`. */
export function reshapeLike(x: Tensor, like: Tensor): Tensor {
  return currentGraph().apply(Reshape, [x, shapeOf(like)], { _shape: like.shape })[0];
}

/** Keep the first axis, flatten the rest: [N, a, b, c] → [N, a·b·c]. */
export function flatten(x: Tensor): Tensor {
  return reshape(x, [dimAt(x.shape, 0), -1]);
}

const Unsqueeze: OpDef<{ _shape: readonly Dim[] }, [Tensor, Tensor]> = {
  name: 'Unsqueeze',
  infer: givenShape,
  vjp: ([g], { inputs: [x] }) => [reshapeLike(g, x), null],
};
const Squeeze: OpDef<{ _shape: readonly Dim[] }, [Tensor, Tensor]> = {
  name: 'Squeeze',
  infer: givenShape,
  vjp: ([g], { inputs: [x] }) => [reshapeLike(g, x), null],
};

/** Insert size-1 axes at `axes` (positions in the output). */
export function unsqueeze(x: Tensor, axes: readonly number[]): Tensor {
  const rank = x.rank + axes.length;
  const norm = axes.map((a) => normalizeAxis(a, rank, 'unsqueeze')).sort((a, b) => a - b);
  const out: Dim[] = [];
  let src = 0;
  for (let i = 0; i < rank; i++) out.push(norm.includes(i) ? 1 : dimAt(x.shape, src++));
  return currentGraph().apply(Unsqueeze, [x, int64s(norm)], { _shape: out })[0];
}

/** Remove size-1 axes at `axes`. */
export function squeeze(x: Tensor, axes: readonly number[]): Tensor {
  const norm = axes.map((a) => normalizeAxis(a, x.rank, 'squeeze'));
  for (const a of norm) {
    if (x.shape[a] !== 1) throw new ShapeError(`squeeze: axis ${a} of ${formatShape(x.shape)} is not 1`);
  }
  const out = x.shape.filter((_, i) => !norm.includes(i));
  return currentGraph().apply(Squeeze, [x, int64s(norm)], { _shape: out })[0];
}

const Expand: OpDef<{ _shape: readonly Dim[] }, [Tensor, Tensor]> = {
  name: 'Expand',
  infer: givenShape,
  // The engine sums the gradient back over the broadcast axes.
  vjp: ([g]) => [g, null],
};

/** Broadcast `x` to the (runtime) shape of `like`. */
export function expandTo(x: Tensor, like: Tensor): Tensor {
  return currentGraph().apply(Expand, [x, shapeOf(like)], { _shape: like.shape })[0];
}

/** Broadcast `x` to a static shape. */
export function broadcastTo(x: Tensor, shape: readonly number[]): Tensor {
  return currentGraph().apply(Expand, [x, int64s(shape)], { _shape: shape })[0];
}

export const zerosLike = (x: Tensor): Tensor => expandTo(scalar(0, x.dtype), x);
export const onesLike = (x: Tensor): Tensor => expandTo(scalar(1, x.dtype), x);

// --- permutation ---------------------------------------------------------------

const Transpose: OpDef<{ perm: readonly number[] }, [Tensor]> = {
  name: 'Transpose',
  attrTypes: { perm: 'ints' },
  infer: ([x], { perm }) => [{ shape: perm.map((p) => dimAt(x.shape, p)), dtype: x.dtype }],
  vjp: ([g], { attrs }) => [transpose(g, inversePermutation(attrs.perm))],
};

export function transpose(x: Tensor, perm: readonly number[]): Tensor {
  if (perm.length !== x.rank || [...perm].sort((a, b) => a - b).some((p, i) => p !== i)) {
    throw new ShapeError(`transpose: perm [${perm.join(', ')}] is not a permutation of the axes of ${formatShape(x.shape)}`);
  }
  return currentGraph().apply(Transpose, [x], { perm })[0];
}

// --- joining and splitting ------------------------------------------------------

const Concat: OpDef<{ axis: number }, readonly Tensor[]> = {
  name: 'Concat',
  attrTypes: { axis: 'int' },
  infer: (xs, { axis }, where) => {
    const [first] = xs;
    if (!first) throw new ShapeError(`${where}: no tensors given`);
    for (const x of xs) {
      if (x.rank !== first.rank || x.dtype !== first.dtype) {
        throw new ShapeError(`${where}: cannot concat ${first.dtype}${formatShape(first.shape)} with ${x.dtype}${formatShape(x.shape)}`);
      }
      x.shape.forEach((d, i) => {
        const f = first.shape[i];
        if (i !== axis && typeof d === 'number' && typeof f === 'number' && d !== f) {
          throw new ShapeError(`${where}: concat on axis ${axis}: shapes ${formatShape(first.shape)} and ${formatShape(x.shape)} differ on axis ${i}`);
        }
      });
    }
    const shape = [...first.shape];
    shape[axis] = xs.map((x) => dimAt(x.shape, axis)).reduce((a, b) => (typeof a === 'number' && typeof b === 'number' ? a + b : `${a}+${b}`));
    return [{ shape, dtype: first.dtype }];
  },
  vjp: ([g], { inputs, attrs }) => split(g, inputs, attrs.axis),
};

export function concat(xs: readonly Tensor[], axis: number): Tensor {
  const [first] = xs;
  if (!first) throw new ShapeError('concat: no tensors given');
  return currentGraph().apply(Concat, xs, { axis: normalizeAxis(axis, first.rank, 'concat') })[0];
}

const Split: OpDef<{ axis: number; num_outputs: number; _shapes: readonly (readonly Dim[])[] }, [Tensor, Tensor], Tensor[]> = {
  name: 'Split',
  attrTypes: { axis: 'int' },
  infer: ([x], { _shapes }) => _shapes.map((s) => ({ shape: [...s], dtype: x.dtype })),
  vjp: (grads, { inputs: [x], attrs }) => [concat(attrs._shapes.map((shape, i) => grads[i] ?? zerosLikeShape(x, shape)), attrs.axis), null],
};

function zerosLikeShape(x: Tensor, shape: readonly Dim[]): Tensor {
  if (!shape.every((d) => typeof d === 'number')) throw new ShapeError('split: missing gradient for a part with a symbolic shape');
  return broadcastTo(scalar(0, x.dtype), shape as number[]);
}

/** Split `x` along `axis` into pieces shaped like `likes` on that axis. */
export function split(x: Tensor, likes: readonly Tensor[], axis: number): Tensor[] {
  const sizes = likes.map((t) => dimAt(t.shape, axis));
  const sizeTensor = sizes.every((d) => typeof d === 'number')
    ? int64s(sizes as number[])
    : concat(likes.map((t) => gatherDim(t, axis)), 0);
  const shapes = sizes.map((size) => x.shape.map((d, k) => (k === axis ? size : d)));
  return currentGraph().apply(Split, [x, sizeTensor], { axis, num_outputs: likes.length, _shapes: shapes });
}

/** Split `x` into equal static parts along `axis`. */
export function splitEqual(x: Tensor, parts: number, axis: number): Tensor[] {
  const ax = normalizeAxis(axis, x.rank, 'splitEqual');
  const d = dimAt(x.shape, ax);
  if (typeof d !== 'number' || d % parts !== 0) throw new ShapeError(`splitEqual: axis ${ax} of ${formatShape(x.shape)} does not split into ${parts}`);
  const shape = x.shape.map((s, k) => (k === ax ? d / parts : s));
  const shapes = Array.from({ length: parts }, () => shape);
  return currentGraph().apply(Split, [x, int64s(Array(parts).fill(d / parts))], { axis: ax, num_outputs: parts, _shapes: shapes });
}

// --- slicing and padding ---------------------------------------------------------

const BIG = 2 ** 62;

const Slice: OpDef<{ _shape: readonly Dim[]; _starts: readonly number[]; _ends: readonly number[]; _axes: readonly number[] }, [Tensor, Tensor, Tensor, Tensor]> = {
  name: 'Slice',
  infer: givenShape,
  vjp: ([g], { inputs: [x], attrs }) => {
    const pads = new Array<number>(2 * x.rank).fill(0);
    attrs._axes.forEach((axis, i) => {
      const d = x.shape[axis];
      if (typeof d !== 'number') throw new ShapeError(`slice gradient: axis ${axis} of ${formatShape(x.shape)} must be static`);
      const [s, e] = clampRange(attrs._starts[i]!, attrs._ends[i]!, d);
      pads[axis] = s;
      pads[axis + x.rank] = d - e;
    });
    return [pad(g, pads), null, null, null];
  },
};

function clampRange(start: number, end: number, d: number): [number, number] {
  const s = Math.min(Math.max(start < 0 ? start + d : start, 0), d);
  const e = Math.min(Math.max(end < 0 ? end + d : end, 0), d);
  return [s, Math.max(e, s)];
}

/** x[start:end] along each of `axes` (step 1). `end` may be Infinity. */
export function slice(x: Tensor, starts: readonly number[], ends: readonly number[], axes: readonly number[]): Tensor {
  if (starts.length !== axes.length || ends.length !== axes.length) {
    throw new ShapeError(`slice: ${axes.length} axes need as many starts and ends, received ${starts.length} and ${ends.length}`);
  }
  const norm = axes.map((a) => normalizeAxis(a, x.rank, 'slice'));
  const finiteEnds = ends.map((e) => (e === Infinity ? BIG : e));
  const out = [...x.shape];
  norm.forEach((axis, i) => {
    const d = dimAt(x.shape, axis);
    const s = starts[i]!;
    const e = finiteEnds[i]!;
    if (typeof d === 'number') {
      const [cs, ce] = clampRange(s, e, d);
      out[axis] = ce - cs;
    } else if (s === 0 && e === BIG) {
      out[axis] = d;
    } else if (s >= 0 && e >= 0 && e < BIG) {
      out[axis] = e - s;
    } else {
      out[axis] = freshDim('s');
    }
  });
  const attrs = { _shape: out, _starts: starts, _ends: finiteEnds, _axes: norm };
  return currentGraph().apply(Slice, [x, int64s(starts), int64s(finiteEnds), int64s(norm)], attrs)[0];
}

const Pad: OpDef<{ mode: string; _pads: readonly number[] }, [Tensor, Tensor, Tensor]> = {
  name: 'Pad',
  attrTypes: { mode: 'string' },
  infer: ([x], { _pads }) => [
    { shape: x.shape.map((d, i) => (typeof d === 'number' ? d + _pads[i]! + _pads[i + x.rank]! : d)), dtype: x.dtype },
  ],
  vjp: ([g], { inputs: [x], attrs }) => {
    const r = x.rank;
    // Only padded axes are sliced, so unpadded ones may be symbolic (a batch axis).
    const axes = x.shape.map((_, i) => i).filter((i) => attrs._pads[i] !== 0 || attrs._pads[i + r] !== 0);
    const starts = axes.map((i) => attrs._pads[i]!);
    const ends = axes.map((i) => {
      const d = dimAt(g.shape, i);
      const after = attrs._pads[i + r]!;
      if (typeof d === 'number') return d - after;
      return after > 0 ? -after : Infinity;
    });
    return [slice(g, starts, ends, axes), null, null];
  },
};

/** Constant padding; `pads` is [begin_0..begin_n, end_0..end_n] as in ONNX. */
export function pad(x: Tensor, pads: readonly number[], value = 0): Tensor {
  if (pads.length !== 2 * x.rank) throw new ShapeError(`pad: expected ${2 * x.rank} pad values for ${formatShape(x.shape)}, got ${pads.length}`);
  return currentGraph().apply(Pad, [x, int64s(pads), scalar(value, x.dtype)], { mode: 'constant', _pads: pads })[0];
}

// --- gather and scatter ------------------------------------------------------------

const Gather: OpDef<{ axis: number }, [Tensor, Tensor]> = {
  name: 'Gather',
  attrTypes: { axis: 'int' },
  infer: ([data, idx], { axis }) => [
    { shape: [...data.shape.slice(0, axis), ...idx.shape, ...data.shape.slice(axis + 1)], dtype: data.dtype },
  ],
  vjp: ([g], { inputs: [data, idx], attrs }) => {
    if (attrs.axis !== 0) throw new ShapeError(`gather gradient: only axis 0 is supported, got ${attrs.axis}`);
    // Rows summed by ScatterElements, whose add is serial: ORT's ScatterND add splits rows across threads
    // unsynchronised, so repeated ids (every batch of tokens) lost updates and made training irreproducible.
    const rest = data.shape.slice(1);
    const rows = reshape(g, [-1, ...rest]); // (n, ...rest)
    const spread = expandTo(reshape(idx, [-1, ...rest.map(() => 1)]), rows);
    return [scatterElementsAdd(zerosLike(data), spread, rows, 0), null];
  },
};

/** data.take(indices, axis); indices are int64. */
export function gather(data: Tensor, indices: Tensor, axis = 0): Tensor {
  if (indices.dtype !== 'int64' && indices.dtype !== 'int32') throw new ShapeError(`gather: indices must be int64 or int32, got ${indices.dtype}`);
  return currentGraph().apply(Gather, [data, indices], { axis: normalizeAxis(axis, data.rank, 'gather') })[0];
}

const GatherElements: OpDef<{ axis: number }, [Tensor, Tensor]> = {
  name: 'GatherElements',
  attrTypes: { axis: 'int' },
  infer: ([data, idx]) => [{ shape: [...idx.shape], dtype: data.dtype }],
  vjp: ([g], { inputs: [data, idx], attrs }) => [scatterElementsAdd(zerosLike(data), idx, g, attrs.axis), null],
};

/** out[i][j] = data[i][indices[i][j]] along `axis` (torch.gather); indices have data's rank. */
export function gatherElements(data: Tensor, indices: Tensor, axis: number): Tensor {
  if (indices.rank !== data.rank) throw new ShapeError(`gatherElements: indices ${formatShape(indices.shape)} must have the rank of data ${formatShape(data.shape)}`);
  return currentGraph().apply(GatherElements, [data, indices], { axis: normalizeAxis(axis, data.rank, 'gatherElements') })[0];
}

const ScatterElements: OpDef<{ axis: number; reduction: string }, [Tensor, Tensor, Tensor]> = {
  name: 'ScatterElements',
  attrTypes: { axis: 'int', reduction: 'string' },
  infer: ([data]) => [{ shape: [...data.shape], dtype: data.dtype }],
  vjp: ([g], { inputs: [, idx], attrs }) => [g, null, gatherElements(g, idx, attrs.axis)],
};

/** data with `updates` added at `indices` along `axis` (ONNX ScatterElements, reduction add). */
export function scatterElementsAdd(data: Tensor, indices: Tensor, updates: Tensor, axis: number): Tensor {
  return currentGraph().apply(ScatterElements, [data, indices, updates], { axis: normalizeAxis(axis, data.rank, 'scatterElementsAdd'), reduction: 'add' })[0];
}

