/** Small constructors shared by the op families. */
import type { DType } from '../dtype.js';
import { currentGraph, type Tensor, type TensorType } from '../graph.js';

export type Operand = Tensor | number;

/** Shape rule of ops whose one output has their first input's shape and dtype. */
export const sameAsInput = ([x]: readonly [Tensor, ...Tensor[]]): [TensorType] => [{ shape: [...x.shape], dtype: x.dtype }];

export function int64s(values: readonly number[]): Tensor {
  return currentGraph().constant(BigInt64Array.from(values.map((v) => BigInt(v))), [values.length], 'int64');
}

export function scalar(value: number, dtype: DType = 'float32'): Tensor {
  const g = currentGraph();
  switch (dtype) {
    case 'float32':
      return g.constant(Float32Array.of(value), [], dtype);
    case 'float64':
      return g.constant(Float64Array.of(value), [], dtype);
    case 'int64':
      return g.constant(BigInt64Array.of(BigInt(value)), [], dtype);
    case 'int32':
      return g.constant(Int32Array.of(value), [], dtype);
    case 'bool':
    case 'uint8':
      return g.constant(Uint8Array.of(value), [], dtype);
    default:
      throw new Error(`scalar: unsupported dtype ${dtype}`);
  }
}

/** Lift a JS number to a scalar constant of `like`'s dtype. */
export function lift(x: Operand, like: DType): Tensor {
  return typeof x === 'number' ? scalar(x, like) : x;
}

export function dtypeOf(...xs: Operand[]): DType {
  for (const x of xs) if (typeof x !== 'number') return x.dtype;
  return 'float32';
}

export function inversePermutation(perm: readonly number[]): number[] {
  const inv = new Array<number>(perm.length);
  perm.forEach((p, i) => (inv[p] = i));
  return inv;
}
