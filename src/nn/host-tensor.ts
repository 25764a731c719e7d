/**
 * Data on the JS side: what `fit`, `predict` and `evaluate` take in and hand
 * back. A HostTensor is a typed array plus a static shape, row-major, with
 * the batch on the first axis.
 */
import { dtypeOfData, type DType } from '../core/dtype.js';
import { elementCount, formatShape, sizeOf, type Dim } from '../core/shape.js';

export type HostData = Float32Array | Float64Array | BigInt64Array | Int32Array | Uint8Array;

export class HostTensor {
  readonly shape: readonly number[];

  constructor(
    readonly data: HostData,
    shape: readonly number[],
  ) {
    const size = elementCount(shape);
    if (!shape.every((d) => Number.isInteger(d) && d >= 0)) {
      throw new Error(`HostTensor: shape must be non-negative integers, received ${formatShape(shape)}`);
    }
    if (size !== data.length) {
      throw new Error(`HostTensor: shape ${formatShape(shape)} needs ${size} elements, received ${data.length}`);
    }
    this.shape = [...shape];
  }

  get dtype(): DType {
    return dtypeOfData(this.data);
  }

  /** Size of the first axis. */
  get rows(): number {
    return this.shape[0] ?? 1;
  }

  /** Elements per row (per example). */
  get rowSize(): number {
    return elementCount(this.shape.slice(1));
  }

  /** Rows [start, end) as a view sharing this tensor's memory. */
  sliceRows(start: number, end: number): HostTensor {
    const n = this.rowSize;
    return new HostTensor(this.data.subarray(start * n, end * n), [end - start, ...this.shape.slice(1)]);
  }

  /** The values as a plain number array (int64 converted with Number). */
  toArray(): number[] {
    return Array.from(this.data as ArrayLike<number | bigint>, Number);
  }

  toString(): string {
    return `HostTensor(${this.dtype}${formatShape(this.shape)})`;
  }
}

/** A HostTensor from a typed array and its shape. */
export function hostTensor(data: HostData, shape: readonly number[]): HostTensor {
  return new HostTensor(data, shape);
}

/** What the data-taking methods accept: a HostTensor, or flat float data shaped like the model's input. */
/** One input: a HostTensor, or flat data whose rows the model's input shape defines. */
export type HostInput = HostTensor | HostData;

export function isHostData(data: unknown): data is HostData {
  return (
    data instanceof Float32Array || data instanceof Float64Array || data instanceof BigInt64Array || data instanceof Int32Array || data instanceof Uint8Array
  );
}

export { dtypeOfData };

/**
 * `x` as one entry per model input: a single tensor or typed array, or an
 * array of them. Anything else (a typed array Forja cannot feed, nested
 * number arrays) is refused here, naming what was received.
 */
export function hostInputList(x: unknown, where: string): HostInput[] {
  const single = (v: unknown): v is HostInput => v instanceof HostTensor || isHostData(v);
  if (single(x)) return [x];
  if (ArrayBuffer.isView(x)) {
    throw new Error(`${where}: ${x.constructor.name} is not a supported data type; pass a Float32Array, Float64Array, Int32Array, BigInt64Array, Uint8Array or a HostTensor`);
  }
  if (Array.isArray(x) && x.length > 0 && x.every(single)) return [...x];
  const received = Array.isArray(x) ? `an array of ${x.length === 0 ? 'nothing' : typeof x[0] === 'number' ? 'numbers' : String(x[0]?.constructor?.name ?? typeof x[0])}` : String((x as object | null)?.constructor?.name ?? x);
  throw new Error(`${where}: expected a typed array or a HostTensor (or an array of them, one per model input), received ${received}`);
}

/** A zeroed typed array of `dtype`. */
export function allocate(dtype: DType, size: number): HostData {
  switch (dtype) {
    case 'float32':
      return new Float32Array(size);
    case 'float64':
      return new Float64Array(size);
    case 'int64':
      return new BigInt64Array(size);
    case 'int32':
      return new Int32Array(size);
    case 'uint8':
    case 'bool':
      return new Uint8Array(size);
    default:
      throw new Error(`HostTensor: unsupported dtype ${dtype}`);
  }
}

/**
 * `x` as a HostTensor whose rows have `exampleShape` (the model's per-example
 * input shape). Flat data is reshaped; a HostTensor must already agree.
 * `where` names the caller and argument for the error.
 */
export function toHostTensor(x: HostInput, exampleShape: readonly Dim[], where: string): HostTensor {
  const perExample = sizeOf(exampleShape);
  if (x instanceof HostTensor) {
    const rest = x.shape.slice(1);
    const agrees = rest.length === exampleShape.length && rest.every((d, i) => typeof exampleShape[i] !== 'number' || exampleShape[i] === d);
    if (!agrees && x.rowSize !== perExample) {
      throw new Error(`${where}: expected examples of shape ${formatShape(exampleShape)}, received ${x}`);
    }
    return agrees ? x : new HostTensor(x.data, [x.rows, ...(exampleShape as number[])]);
  }
  if (perExample === null) throw new Error(`${where}: the model's input shape ${formatShape(exampleShape)} is not static; pass a HostTensor`);
  if (perExample === 0 || x.length % perExample !== 0) {
    throw new Error(`${where}: ${x.length} values do not divide into examples of shape ${formatShape(exampleShape)} (${perExample} values each)`);
  }
  return new HostTensor(x, [x.length / perExample, ...(exampleShape as number[])]);
}

/**
 * Copy rows `indices[from..from+count)` of `src` into the first rows of `dst`
 * (same dtype, same row size): the batch gather of a shuffled epoch.
 */
export function gatherRowsInto(dst: HostData, src: HostTensor, indices: Int32Array, from: number, count: number): void {
  const n = src.rowSize;
  for (let i = 0; i < count; i++) {
    const row = indices[from + i]!;
    copyData(dst, src.data.subarray(row * n, (row + 1) * n), i * n);
  }
}

/** dst[offset..] = src, for typed arrays of the same kind. */
export function copyData(dst: HostData, src: HostData, offset = 0): void {
  if (dst instanceof BigInt64Array || src instanceof BigInt64Array) {
    if (!(dst instanceof BigInt64Array && src instanceof BigInt64Array)) {
      throw new Error(`copyData: cannot copy ${dtypeOfData(src)} values into a ${dtypeOfData(dst)} buffer`);
    }
    dst.set(src, offset);
    return;
  }
  if (dtypeOfData(dst) !== dtypeOfData(src)) throw new Error(`copyData: cannot copy ${dtypeOfData(src)} values into a ${dtypeOfData(dst)} buffer`);
  dst.set(src, offset);
}
