/** Element types Forja graphs use, and their ONNX TensorProto codes. */
export type DType = 'float32' | 'float16' | 'float64' | 'int64' | 'int32' | 'uint8' | 'bool';

export const ONNX_DTYPE: Record<DType, number> = {
  float32: 1,
  uint8: 2,
  int32: 6,
  int64: 7,
  bool: 9,
  float16: 10,
  float64: 11,
};

export type TypedArrayFor<D extends DType> = D extends 'float32'
  ? Float32Array
  : D extends 'float64'
    ? Float64Array
    : D extends 'int64'
      ? BigInt64Array
      : D extends 'int32'
        ? Int32Array
        : D extends 'float16'
          ? Uint16Array
          : Uint8Array;

export type TensorData = Float32Array | Float64Array | BigInt64Array | Int32Array | Uint16Array | Uint8Array;

export const isFloat = (d: DType): boolean => d === 'float32' || d === 'float16' || d === 'float64';

/** The dtype a typed array holds (Uint16Array is float16 bits). */
export function dtypeOfData(data: TensorData): DType {
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof Float64Array) return 'float64';
  if (data instanceof BigInt64Array) return 'int64';
  if (data instanceof Int32Array) return 'int32';
  if (data instanceof Uint16Array) return 'float16';
  return 'uint8';
}
