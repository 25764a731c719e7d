/**
 * Shapes with symbolic dimensions. A dimension is a number, or a name such as
 * 'batch' or 'seq' that is only known when the graph runs. This file is the
 * only place broadcasting rules live.
 */
export type Dim = number | string;
export type Shape = readonly Dim[];

export const formatShape = (s: Shape): string => `[${s.join(', ')}]`;

export const isStatic = (s: Shape): s is readonly number[] => s.every((d) => typeof d === 'number');

/** Number of elements of a static shape. */
export const elementCount = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);

/** Number of elements, or null if a dimension is symbolic. */
export function sizeOf(s: Shape): number | null {
  let n = 1;
  for (const d of s) {
    if (typeof d !== 'number') return null;
    n *= d;
  }
  return n;
}

let nextSymbol = 0;
/** A fresh symbolic dimension, for a size only known at run time (`hint` says where it came from). */
export const freshDim = (hint: string): string => `${hint}_${nextSymbol++}`;

export class ShapeError extends Error {
  override name = 'ShapeError';
}

/** Numpy-style broadcast of two shapes; `where` names the op for the error. */
export function broadcastShapes(a: Shape, b: Shape, where: string): Dim[] {
  const rank = Math.max(a.length, b.length);
  const out: Dim[] = [];
  for (let i = 0; i < rank; i++) {
    const da = i < rank - a.length ? 1 : a[i - (rank - a.length)]!;
    const db = i < rank - b.length ? 1 : b[i - (rank - b.length)]!;
    if (da === db || db === 1) out.push(da);
    else if (da === 1) out.push(db);
    // A symbolic dim against a concrete one: trust the runtime to agree and
    // keep the concrete size; two different names keep the first.
    else if (typeof da === 'string') out.push(typeof db === 'number' ? db : da);
    else if (typeof db === 'string') out.push(da);
    else throw new ShapeError(`${where}: cannot broadcast shapes ${formatShape(a)} and ${formatShape(b)} (dimension ${i}: ${da} vs ${db})`);
  }
  return out;
}

/** Resolve a possibly negative axis against a rank. */
export function normalizeAxis(axis: number, rank: number, where: string): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) throw new ShapeError(`${where}: axis ${axis} is out of range for rank ${rank}`);
  return a;
}

/** Dimension `axis` of `s`, negative counting from the end. */
export function dimAt(s: Shape, axis: number): Dim {
  const d = s[axis < 0 ? axis + s.length : axis];
  if (d === undefined) throw new ShapeError(`axis ${axis} is out of range for shape ${formatShape(s)}`);
  return d;
}

export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/**
 * Whether two shapes can be the same at run time: equal ranks and equal
 * static sizes. A symbolic dim agrees with any size or name, as in
 * broadcastShapes, which lets two different names meet and keeps the first.
 */
export function shapesAgree(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i] || typeof d === 'string' || typeof b[i] === 'string');
}
