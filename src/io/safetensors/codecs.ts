/**
 * safetensors dtypes and how each one becomes core's `TensorData` and back.
 *
 * A decoded array always holds values of the core dtype its constructor names (`dtypeOfData` is
 * right about it): F16, BF16 and F8 are upcast to Float32Array; I8, I16 and U16 widen to
 * Int32Array; U32 and U64 widen to BigInt64Array. So no Uint16Array ever leaves the reader, and a
 * U16 tensor cannot be taken for float16 bits (core's meaning of Uint16Array). The stored dtype
 * travels beside the data in every tensor record.
 *
 * Writing is the inverse: each dtype says which arrays it is written from. A Uint16Array is
 * ambiguous (float16 bits in core, U16 in safetensors), so it is only written with an explicit
 * dtype.
 */
import type { TensorData } from '../../core/dtype.js';
import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16, f8ToF32 } from './floats.js';

export type SafetensorsDtype =
  | 'F64'
  | 'F32'
  | 'F16'
  | 'BF16'
  | 'F8_E4M3'
  | 'F8_E5M2'
  | 'I64'
  | 'I32'
  | 'I16'
  | 'I8'
  | 'U64'
  | 'U32'
  | 'U16'
  | 'U8'
  | 'BOOL';

/** A bad file, a bad tensor to write or a value that does not fit its dtype; the message names the file and tensor. */
export class SafetensorsError extends Error {
  override name = 'SafetensorsError';
}

const BYTES: Record<SafetensorsDtype, number> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  F8_E4M3: 1,
  F8_E5M2: 1,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U64: 8,
  U32: 4,
  U16: 2,
  U8: 1,
  BOOL: 1,
};

export const SAFETENSORS_DTYPES = Object.keys(BYTES) as SafetensorsDtype[];

/** Bytes per element of a safetensors dtype. */
export function dtypeByteSize(dtype: SafetensorsDtype): number {
  return BYTES[dtype];
}

export function isSafetensorsDtype(x: unknown): x is SafetensorsDtype {
  return typeof x === 'string' && Object.prototype.hasOwnProperty.call(BYTES, x);
}

// Typed arrays use host byte order and safetensors is little-endian.
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
export function assertLittleEndian(): void {
  if (!LITTLE_ENDIAN) throw new SafetensorsError('safetensors: big-endian hosts are not supported');
}

// ---------------------------------------------------------------------------------------------
// Decoding

function widenToInt32(src: Int8Array | Int16Array | Uint16Array): Int32Array {
  return new Int32Array(src);
}

function u32ToI64(src: Uint32Array): BigInt64Array {
  const out = new BigInt64Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = BigInt(src[i]!);
  return out;
}

function u64AsI64(raw: BigInt64Array, where: string): BigInt64Array {
  for (let i = 0; i < raw.length; i++) {
    if (raw[i]! < 0n) {
      throw new SafetensorsError(`${where}: U64 value ${BigInt.asUintN(64, raw[i]!)} at index ${i} does not fit int64, the widest integer Forja holds`);
    }
  }
  return raw;
}

/**
 * Decode the raw little-endian bytes of one tensor. When `raw` is aligned and the dtype needs no
 * conversion the result is a view on `raw`'s buffer; otherwise it is a fresh array. `where` names
 * the tensor in errors.
 */
export function decodeTensorBytes(raw: Uint8Array, dtype: SafetensorsDtype, where = 'safetensors'): TensorData {
  assertLittleEndian();
  const size = BYTES[dtype];
  const n = raw.byteLength / size;
  // A view needs byteOffset to be a multiple of the element size; copy otherwise.
  const aligned = raw.byteOffset % size === 0 ? raw : raw.slice();
  const { buffer, byteOffset } = aligned;
  switch (dtype) {
    case 'F32':
      return new Float32Array(buffer, byteOffset, n);
    case 'F64':
      return new Float64Array(buffer, byteOffset, n);
    case 'F16':
      return f16ToF32(new Uint16Array(buffer, byteOffset, n));
    case 'BF16':
      return bf16ToF32(new Uint16Array(buffer, byteOffset, n));
    case 'F8_E4M3':
    case 'F8_E5M2':
      return f8ToF32(aligned, dtype);
    case 'I64':
      return new BigInt64Array(buffer, byteOffset, n);
    case 'U64':
      return u64AsI64(new BigInt64Array(buffer, byteOffset, n), where);
    case 'I32':
      return new Int32Array(buffer, byteOffset, n);
    case 'U32':
      return u32ToI64(new Uint32Array(buffer, byteOffset, n));
    case 'I16':
      return widenToInt32(new Int16Array(buffer, byteOffset, n));
    case 'U16':
      return widenToInt32(new Uint16Array(buffer, byteOffset, n));
    case 'I8':
      return widenToInt32(new Int8Array(buffer, byteOffset, n));
    case 'U8':
    case 'BOOL':
      return new Uint8Array(buffer, byteOffset, n);
  }
}

/**
 * A tensor's values as Float32Array (a no-op for Float32Array data). The dtype decides what a
 * Uint16Array means: F16/BF16 bits, or U16 integers.
 */
export function toFloat32(t: { dtype: SafetensorsDtype; data: TensorData }): Float32Array {
  const { data } = t;
  if (data instanceof Float32Array) return data;
  if (data instanceof Uint16Array && (t.dtype === 'F16' || t.dtype === 'BF16')) return t.dtype === 'F16' ? f16ToF32(data) : bf16ToF32(data);
  const out = new Float32Array(data.length);
  if (data instanceof BigInt64Array) {
    for (let i = 0; i < data.length; i++) out[i] = Number(data[i]!);
  } else {
    out.set(data);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Encoding

const asBytes = (v: ArrayBufferView): Uint8Array => new Uint8Array(v.buffer, v.byteOffset, v.byteLength);

type IntArrayCtor = Int8ArrayConstructor | Int16ArrayConstructor | Uint16ArrayConstructor;

function narrowInt32(src: Int32Array, Ctor: IntArrayCtor, dtype: SafetensorsDtype, where: string): Uint8Array {
  const out = new Ctor(src.length);
  for (let i = 0; i < src.length; i++) {
    out[i] = src[i]!;
    if (out[i] !== src[i]) throw new SafetensorsError(`${where}: value ${src[i]} at index ${i} does not fit ${dtype}`);
  }
  return asBytes(out);
}

function narrowI64(src: BigInt64Array, dtype: 'U32' | 'U64', where: string): Uint8Array {
  const max = dtype === 'U32' ? 0xffffffffn : (1n << 63n) - 1n;
  for (let i = 0; i < src.length; i++) {
    const v = src[i]!;
    if (v < 0n || v > max) throw new SafetensorsError(`${where}: value ${v} at index ${i} does not fit ${dtype}`);
  }
  if (dtype === 'U64') return asBytes(src);
  return asBytes(Uint32Array.from(src, Number));
}

/** The array types each dtype is written from, for error messages. */
const WRITTEN_FROM: Record<SafetensorsDtype, string> = {
  F64: 'Float64Array',
  F32: 'Float32Array',
  F16: 'Float32Array (converted) or Uint16Array (raw bits)',
  BF16: 'Float32Array (converted) or Uint16Array (raw bits)',
  F8_E4M3: 'Uint8Array (raw bits)',
  F8_E5M2: 'Uint8Array (raw bits)',
  I64: 'BigInt64Array',
  I32: 'Int32Array',
  I16: 'Int32Array',
  I8: 'Int32Array',
  U64: 'BigInt64Array',
  U32: 'BigInt64Array',
  U16: 'Int32Array or Uint16Array',
  U8: 'Uint8Array',
  BOOL: 'Uint8Array',
};

/**
 * The little-endian bytes storing `data` as `dtype` (a view on `data` when no conversion is needed).
 * Narrowing checks every value fits. `where` names the tensor in errors.
 */
export function encodeTensorData(data: TensorData, dtype: SafetensorsDtype, where: string): Uint8Array {
  assertLittleEndian();
  const bytes = encodeOrUndefined(data, dtype, where);
  if (bytes === undefined) {
    throw new SafetensorsError(`${where}: dtype ${dtype} cannot be written from ${data.constructor.name} (it is written from ${WRITTEN_FROM[dtype]})`);
  }
  return bytes;
}

function encodeOrUndefined(data: TensorData, dtype: SafetensorsDtype, where: string): Uint8Array | undefined {
  switch (dtype) {
    case 'F32':
      return data instanceof Float32Array ? asBytes(data) : undefined;
    case 'F64':
      return data instanceof Float64Array ? asBytes(data) : undefined;
    case 'F16':
    case 'BF16':
      if (data instanceof Uint16Array) return asBytes(data);
      if (!(data instanceof Float32Array)) return undefined;
      return asBytes(dtype === 'F16' ? f32ToF16(data) : f32ToBf16(data));
    case 'I64':
      return data instanceof BigInt64Array ? asBytes(data) : undefined;
    case 'U64':
    case 'U32':
      return data instanceof BigInt64Array ? narrowI64(data, dtype, where) : undefined;
    case 'I32':
      return data instanceof Int32Array ? asBytes(data) : undefined;
    case 'I16':
      return data instanceof Int32Array ? narrowInt32(data, Int16Array, dtype, where) : undefined;
    case 'I8':
      return data instanceof Int32Array ? narrowInt32(data, Int8Array, dtype, where) : undefined;
    case 'U16':
      if (data instanceof Uint16Array) return asBytes(data);
      return data instanceof Int32Array ? narrowInt32(data, Uint16Array, dtype, where) : undefined;
    case 'U8':
    case 'BOOL':
    case 'F8_E4M3':
    case 'F8_E5M2':
      return data instanceof Uint8Array ? asBytes(data) : undefined;
  }
}

/** The dtype `data` is written as when none is given; a Uint16Array has none (see the module doc). */
export function defaultDtype(data: TensorData, where: string): SafetensorsDtype {
  if (data instanceof Float32Array) return 'F32';
  if (data instanceof Float64Array) return 'F64';
  if (data instanceof BigInt64Array) return 'I64';
  if (data instanceof Int32Array) return 'I32';
  if (data instanceof Uint8Array) return 'U8';
  if (data instanceof Uint16Array) {
    throw new SafetensorsError(`${where}: a Uint16Array needs an explicit dtype: 'F16' or 'BF16' for half-float bits, 'U16' for integers`);
  }
  throw new SafetensorsError(`${where}: cannot write a ${(data as object).constructor.name}`);
}
