/**
 * safetensors reader/writer (https://huggingface.co/docs/safetensors): an 8-byte little-endian header
 * length N, N bytes of JSON {name: {dtype, shape, data_offsets: [begin, end]}, __metadata__?}, then
 * the raw little-endian tensor bytes. Offsets are relative to the start of the data section.
 *
 * Reading: F16, BF16 and the F8 types are upcast to Float32Array; every other dtype keeps its own
 * typed array. Each tensor is read into its own freshly allocated buffer, so arrays are always
 * aligned and one tensor never pins the memory of the whole file.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import { isAbsolute, join, normalize } from 'node:path';
import { writeFileAtomic, writeFileAtomicSync, writeJsonAtomic } from './atomic.js';

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

export type TensorData =
  | Float32Array
  | Float64Array
  | BigInt64Array
  | BigUint64Array
  | Int32Array
  | Uint32Array
  | Int16Array
  | Uint16Array
  | Int8Array
  | Uint8Array;

/** A decoded tensor. `dtype` is the dtype stored in the file; F16/BF16/F8 data is already Float32Array. */
export interface SafetensorsTensor {
  dtype: SafetensorsDtype;
  shape: number[];
  data: TensorData;
}

export interface F32Tensor {
  shape: number[];
  data: Float32Array;
}

export interface TensorInfo {
  dtype: SafetensorsDtype;
  shape: number[];
  /** [begin, end) byte offsets relative to the start of the data section. */
  dataOffsets: [number, number];
}

export interface SafetensorsHeader {
  /** Tensors in header order. */
  tensors: Map<string, TensorInfo>;
  /** The `__metadata__` string map ({} when absent). */
  metadata: Record<string, string>;
  /** Absolute file offset of the data section (8 + header length). */
  dataStart: number;
  /** Size of the data section in bytes. */
  dataSize: number;
}

export interface ReadOptions {
  /** Only decode tensors for which this returns true (the rest are never read from disk). */
  filter?: (name: string, info: TensorInfo) => boolean;
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

/** Bytes per element of a safetensors dtype. */
export function dtypeByteSize(dtype: SafetensorsDtype): number {
  return BYTES[dtype];
}

function isDtype(x: unknown): x is SafetensorsDtype {
  return typeof x === 'string' && Object.prototype.hasOwnProperty.call(BYTES, x);
}

// Typed arrays use host byte order and safetensors is little-endian.
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
function assertLittleEndian(): void {
  if (!LITTLE_ENDIAN) throw new Error('safetensors: big-endian hosts are not supported');
}

// The reference implementation refuses headers above 100 MB; so do we.
const MAX_HEADER = 100_000_000;

// ---------------------------------------------------------------------------------------------
// Half-precision conversions

let f16Table: Uint32Array | undefined;

// All 65536 F16 bit patterns -> F32 bits, built once; a lookup is faster than per-element bit math.
function getF16Table(): Uint32Array {
  if (f16Table) return f16Table;
  const t = new Uint32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = (h & 0x8000) << 16;
    const exp = (h >> 10) & 0x1f;
    const mant = h & 0x3ff;
    if (exp === 0) {
      if (mant === 0) {
        t[h] = sign;
      } else {
        // Subnormal: renormalise so the leading 1 becomes implicit.
        let e = -1;
        let m = mant;
        do {
          e++;
          m <<= 1;
        } while ((m & 0x400) === 0);
        t[h] = sign | ((127 - 15 - e) << 23) | ((m & 0x3ff) << 13);
      }
    } else if (exp === 0x1f) {
      t[h] = sign | 0x7f800000 | (mant << 13); // inf, or NaN keeping its payload
    } else {
      t[h] = sign | ((exp + 112) << 23) | (mant << 13);
    }
  }
  f16Table = t;
  return t;
}

/** IEEE half bits -> Float32Array (exact, including subnormals, ±inf and NaN). */
export function f16ToF32(src: Uint16Array, dst: Float32Array = new Float32Array(src.length)): Float32Array {
  const table = getF16Table();
  const out = new Uint32Array(dst.buffer, dst.byteOffset, src.length);
  for (let i = 0; i < src.length; i++) out[i] = table[src[i]!]!;
  return dst;
}

/** bfloat16 bits -> Float32Array: BF16 is the top half of an F32. */
export function bf16ToF32(src: Uint16Array, dst: Float32Array = new Float32Array(src.length)): Float32Array {
  const out = new Uint32Array(dst.buffer, dst.byteOffset, src.length);
  for (let i = 0; i < src.length; i++) out[i] = src[i]! << 16;
  return dst;
}

/** Float32 -> IEEE half bits, round to nearest even; overflow gives ±inf, NaN stays NaN. */
export function f32ToF16(src: Float32Array, dst: Uint16Array = new Uint16Array(src.length)): Uint16Array {
  const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
  for (let i = 0; i < src.length; i++) {
    const x = bits[i]!;
    const sign = (x >>> 16) & 0x8000;
    const exp = (x >>> 23) & 0xff;
    const mant = x & 0x7fffff;
    let h: number;
    if (exp === 0xff) {
      h = sign | 0x7c00 | (mant ? 0x200 | (mant >>> 13) : 0);
    } else {
      const e = exp - 127 + 15;
      if (e >= 0x1f) {
        h = sign | 0x7c00;
      } else if (e <= 0) {
        if (e < -10) {
          h = sign; // below half the smallest subnormal
        } else {
          const m = mant | 0x800000;
          const shift = 14 - e;
          let v = m >>> shift;
          const rem = m & ((1 << shift) - 1);
          const half = 1 << (shift - 1);
          if (rem > half || (rem === half && (v & 1))) v++;
          h = sign | v;
        }
      } else {
        let v = (e << 10) | (mant >>> 13);
        const rem = mant & 0x1fff;
        if (rem > 0x1000 || (rem === 0x1000 && (v & 1))) v++; // may carry into the exponent: still correct
        h = sign | v;
      }
    }
    dst[i] = h;
  }
  return dst;
}

/** Float32 -> bfloat16 bits, round to nearest even; NaN stays NaN. */
export function f32ToBf16(src: Float32Array, dst: Uint16Array = new Uint16Array(src.length)): Uint16Array {
  const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
  for (let i = 0; i < src.length; i++) {
    const x = bits[i]!;
    if ((x & 0x7f800000) === 0x7f800000 && (x & 0x7fffff) !== 0) {
      dst[i] = (x >>> 16) | 0x40; // quiet NaN (truncation could turn it into inf)
    } else {
      dst[i] = (x + 0x7fff + ((x >>> 16) & 1)) >>> 16;
    }
  }
  return dst;
}

let e4m3Table: Float32Array | undefined;

// F8 E4M3 "fn" variant (as in torch.float8_e4m3fn): bias 7, no infinities, S.1111.111 is NaN.
function getE4m3Table(): Float32Array {
  if (e4m3Table) return e4m3Table;
  const t = new Float32Array(256);
  for (let b = 0; b < 256; b++) {
    const sign = b & 0x80 ? -1 : 1;
    const exp = (b >> 3) & 0xf;
    const mant = b & 7;
    if (exp === 0xf && mant === 7) t[b] = NaN;
    else if (exp === 0) t[b] = sign * (mant / 8) * 2 ** -6;
    else t[b] = sign * (1 + mant / 8) * 2 ** (exp - 7);
  }
  e4m3Table = t;
  return t;
}

function f8ToF32(src: Uint8Array, dtype: 'F8_E4M3' | 'F8_E5M2'): Float32Array {
  const out = new Float32Array(src.length);
  if (dtype === 'F8_E4M3') {
    const t = getE4m3Table();
    for (let i = 0; i < src.length; i++) out[i] = t[src[i]!]!;
  } else {
    // E5M2 is exactly the top byte of an F16.
    const t = getF16Table();
    const o = new Uint32Array(out.buffer);
    for (let i = 0; i < src.length; i++) o[i] = t[src[i]! << 8]!;
  }
  return out;
}

/** Any decoded tensor data as a Float32Array (a no-op for Float32Array). */
export function toFloat32(data: TensorData): Float32Array {
  if (data instanceof Float32Array) return data;
  const out = new Float32Array(data.length);
  if (data instanceof BigInt64Array || data instanceof BigUint64Array) {
    for (let i = 0; i < data.length; i++) out[i] = Number(data[i]!);
  } else {
    out.set(data);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Header parsing and validation

function product(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

function isNonNegInt(x: unknown): x is number {
  return typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
}

/**
 * Parse and validate the JSON header bytes (the N bytes after the 8-byte length) against the data
 * section size. `source` names the file in errors.
 */
export function parseSafetensorsHeader(headerBytes: Uint8Array, dataSize: number, source: string): SafetensorsHeader {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(headerBytes));
  } catch (err) {
    throw new Error(`${source}: safetensors header is not valid UTF-8 JSON (${(err as Error).message})`);
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new Error(`${source}: safetensors header must be a JSON object`);
  }
  const tensors = new Map<string, TensorInfo>();
  let metadata: Record<string, string> = {};
  for (const [name, raw] of Object.entries(json as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
        throw new Error(`${source}: __metadata__ must be an object of strings`);
      }
      for (const [k, v] of Object.entries(raw)) {
        if (typeof v !== 'string') throw new Error(`${source}: __metadata__["${k}"] must be a string, got ${JSON.stringify(v)}`);
      }
      metadata = raw as Record<string, string>;
      continue;
    }
    const where = `${source}: tensor "${name}"`;
    if (raw === null || typeof raw !== 'object') throw new Error(`${where}: header entry must be an object`);
    const e = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (!isDtype(e.dtype)) {
      throw new Error(`${where}: unknown dtype ${JSON.stringify(e.dtype)} (supported: ${Object.keys(BYTES).join(', ')})`);
    }
    if (!Array.isArray(e.shape) || !e.shape.every(isNonNegInt)) {
      throw new Error(`${where}: shape must be an array of non-negative integers, got ${JSON.stringify(e.shape)}`);
    }
    const off = e.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !isNonNegInt(off[0]) || !isNonNegInt(off[1]) || off[0] > off[1]) {
      throw new Error(`${where}: data_offsets must be [begin, end] with 0 <= begin <= end, got ${JSON.stringify(off)}`);
    }
    const [begin, end] = off as [number, number];
    if (end > dataSize) {
      throw new Error(`${where}: data_offsets [${begin}, ${end}] run past the end of the data section (${dataSize} bytes)`);
    }
    const shape = e.shape as number[];
    const expected = product(shape) * BYTES[e.dtype];
    if (end - begin !== expected) {
      throw new Error(
        `${where}: data_offsets [${begin}, ${end}] span ${end - begin} bytes but shape [${shape.join(', ')}] × ${e.dtype} needs ${expected}`,
      );
    }
    tensors.set(name, { dtype: e.dtype, shape, dataOffsets: [begin, end] });
  }
  // Overlap check: sort by begin and compare neighbours. Empty tensors occupy nothing.
  const spans = [...tensors].filter(([, t]) => t.dataOffsets[1] > t.dataOffsets[0]);
  spans.sort((a, b) => a[1].dataOffsets[0] - b[1].dataOffsets[0]);
  for (let i = 1; i < spans.length; i++) {
    const [pn, p] = spans[i - 1]!;
    const [cn, c] = spans[i]!;
    if (c.dataOffsets[0] < p.dataOffsets[1]) {
      throw new Error(
        `${source}: tensor "${cn}" bytes [${c.dataOffsets.join(', ')}] overlap tensor "${pn}" bytes [${p.dataOffsets.join(', ')}]`,
      );
    }
  }
  return { tensors, metadata, dataStart: 8 + headerBytes.byteLength, dataSize };
}

function checkHeaderLength(source: string, fileSize: number, n: bigint): number {
  if (n > BigInt(fileSize - 8) || n > BigInt(MAX_HEADER)) {
    throw new Error(
      `${source}: header length ${n} is absurd (file is ${fileSize} bytes; headers are limited to ${MAX_HEADER} bytes)`,
    );
  }
  return Number(n);
}

function tooShort(source: string, size: number): Error {
  return new Error(`${source}: file too short to be safetensors (${size} bytes, need at least 8)`);
}

/** Read and validate just the header of a safetensors file. */
export async function readSafetensorsHeader(path: string): Promise<SafetensorsHeader> {
  const fh = await openForRead(path);
  try {
    return await readHeaderFromHandle(fh, path);
  } finally {
    await fh.close();
  }
}

/** Synchronous variant of {@link readSafetensorsHeader}. */
export function readSafetensorsHeaderSync(path: string): SafetensorsHeader {
  const fd = openForReadSync(path);
  try {
    return readHeaderFromFd(fd, path);
  } finally {
    fs.closeSync(fd);
  }
}

async function openForRead(path: string): Promise<fsp.FileHandle> {
  try {
    return await fsp.open(path, 'r');
  } catch (err) {
    throw new Error(`${path}: cannot open safetensors file (${(err as Error).message})`, { cause: err });
  }
}

function openForReadSync(path: string): number {
  try {
    return fs.openSync(path, 'r');
  } catch (err) {
    throw new Error(`${path}: cannot open safetensors file (${(err as Error).message})`, { cause: err });
  }
}

async function readExact(fh: fsp.FileHandle, into: Uint8Array, position: number, source: string): Promise<void> {
  for (let done = 0; done < into.length; ) {
    const len = Math.min(into.length - done, 1 << 30);
    const { bytesRead } = await fh.read(into, done, len, position + done);
    if (bytesRead === 0) throw new Error(`${source}: unexpected end of file at byte ${position + done}`);
    done += bytesRead;
  }
}

function readExactSync(fd: number, into: Uint8Array, position: number, source: string): void {
  for (let done = 0; done < into.length; ) {
    const len = Math.min(into.length - done, 1 << 30);
    const n = fs.readSync(fd, into, done, len, position + done);
    if (n === 0) throw new Error(`${source}: unexpected end of file at byte ${position + done}`);
    done += n;
  }
}

async function readHeaderFromHandle(fh: fsp.FileHandle, source: string): Promise<SafetensorsHeader> {
  const size = (await fh.stat()).size;
  if (size < 8) throw tooShort(source, size);
  const prefix = new Uint8Array(8);
  await readExact(fh, prefix, 0, source);
  const n = checkHeaderLength(source, size, Buffer.from(prefix).readBigUInt64LE(0));
  const headerBytes = new Uint8Array(n);
  await readExact(fh, headerBytes, 8, source);
  return parseSafetensorsHeader(headerBytes, size - 8 - n, source);
}

function readHeaderFromFd(fd: number, source: string): SafetensorsHeader {
  const size = fs.fstatSync(fd).size;
  if (size < 8) throw tooShort(source, size);
  const prefix = new Uint8Array(8);
  readExactSync(fd, prefix, 0, source);
  const n = checkHeaderLength(source, size, Buffer.from(prefix).readBigUInt64LE(0));
  const headerBytes = new Uint8Array(n);
  readExactSync(fd, headerBytes, 8, source);
  return parseSafetensorsHeader(headerBytes, size - 8 - n, source);
}

// ---------------------------------------------------------------------------------------------
// Decoding

/**
 * Decode raw little-endian bytes of one tensor. When `raw` is suitably aligned and the dtype needs no
 * conversion the result is a view on `raw`'s buffer; otherwise it is a fresh copy.
 */
export function decodeTensorBytes(raw: Uint8Array, dtype: SafetensorsDtype): TensorData {
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
      return new BigUint64Array(buffer, byteOffset, n);
    case 'I32':
      return new Int32Array(buffer, byteOffset, n);
    case 'U32':
      return new Uint32Array(buffer, byteOffset, n);
    case 'I16':
      return new Int16Array(buffer, byteOffset, n);
    case 'U16':
      return new Uint16Array(buffer, byteOffset, n);
    case 'I8':
      return new Int8Array(buffer, byteOffset, n);
    case 'U8':
    case 'BOOL':
      return new Uint8Array(buffer, byteOffset, n);
  }
}

function selected(header: SafetensorsHeader, opts: ReadOptions): [string, TensorInfo][] {
  const list = [...header.tensors].filter(([name, info]) => !opts.filter || opts.filter(name, info));
  // Read in file order: sequential I/O.
  return list.sort((a, b) => a[1].dataOffsets[0] - b[1].dataOffsets[0]);
}

/** Read every tensor of a safetensors file (F16/BF16/F8 upcast to Float32Array). Map order = header order. */
export async function readSafetensors(path: string, opts: ReadOptions = {}): Promise<Map<string, SafetensorsTensor>> {
  const fh = await openForRead(path);
  try {
    const header = await readHeaderFromHandle(fh, path);
    const decoded = new Map<string, SafetensorsTensor>();
    for (const [name, info] of selected(header, opts)) {
      const [begin, end] = info.dataOffsets;
      const raw = new Uint8Array(end - begin);
      await readExact(fh, raw, header.dataStart + begin, `${path}: tensor "${name}"`);
      decoded.set(name, { dtype: info.dtype, shape: info.shape, data: decodeTensorBytes(raw, info.dtype) });
    }
    return inHeaderOrder(header, decoded);
  } finally {
    await fh.close();
  }
}

/** Synchronous variant of {@link readSafetensors}. */
export function readSafetensorsSync(path: string, opts: ReadOptions = {}): Map<string, SafetensorsTensor> {
  const fd = openForReadSync(path);
  try {
    const header = readHeaderFromFd(fd, path);
    const decoded = new Map<string, SafetensorsTensor>();
    for (const [name, info] of selected(header, opts)) {
      const [begin, end] = info.dataOffsets;
      const raw = new Uint8Array(end - begin);
      readExactSync(fd, raw, header.dataStart + begin, `${path}: tensor "${name}"`);
      decoded.set(name, { dtype: info.dtype, shape: info.shape, data: decodeTensorBytes(raw, info.dtype) });
    }
    return inHeaderOrder(header, decoded);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Parse a whole safetensors file already in memory. F32 (and other non-converted) tensors are views on
 * `bytes` when aligned, copies when not. `source` names the buffer in errors.
 */
export function parseSafetensors(bytes: Uint8Array, source = '<buffer>', opts: ReadOptions = {}): Map<string, SafetensorsTensor> {
  if (bytes.byteLength < 8) throw tooShort(source, bytes.byteLength);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = checkHeaderLength(source, bytes.byteLength, view.getBigUint64(0, true));
  const header = parseSafetensorsHeader(bytes.subarray(8, 8 + n), bytes.byteLength - 8 - n, source);
  const decoded = new Map<string, SafetensorsTensor>();
  for (const [name, info] of selected(header, opts)) {
    const [begin, end] = info.dataOffsets;
    const raw = bytes.subarray(header.dataStart + begin, header.dataStart + end);
    decoded.set(name, { dtype: info.dtype, shape: info.shape, data: decodeTensorBytes(raw, info.dtype) });
  }
  return inHeaderOrder(header, decoded);
}

function inHeaderOrder(header: SafetensorsHeader, decoded: Map<string, SafetensorsTensor>): Map<string, SafetensorsTensor> {
  const out = new Map<string, SafetensorsTensor>();
  for (const name of header.tensors.keys()) {
    const t = decoded.get(name);
    if (t) out.set(name, t);
  }
  return out;
}

/** Convert every tensor of a decoded map to Float32Array (integers included, via Number). */
export function mapToF32(tensors: Map<string, SafetensorsTensor>): Map<string, F32Tensor> {
  const out = new Map<string, F32Tensor>();
  for (const [name, t] of tensors) out.set(name, { shape: t.shape, data: toFloat32(t.data) });
  return out;
}

/** Read a safetensors file with every tensor as Float32Array. */
export async function loadF32(path: string, opts: ReadOptions = {}): Promise<Map<string, F32Tensor>> {
  return mapToF32(await readSafetensors(path, opts));
}

/** Synchronous variant of {@link loadF32}. */
export function loadF32Sync(path: string, opts: ReadOptions = {}): Map<string, F32Tensor> {
  return mapToF32(readSafetensorsSync(path, opts));
}

// ---------------------------------------------------------------------------------------------
// Writing

export interface TensorToWrite {
  shape: readonly number[];
  data: TensorData;
  /**
   * Stored dtype. Defaults to the natural dtype of `data` (Float32Array -> F32, Int32Array -> I32, ...).
   * F16/BF16 accept Float32Array (converted, round-to-nearest-even) or Uint16Array (raw bits).
   */
  dtype?: SafetensorsDtype;
}

export type TensorsToWrite = Record<string, TensorToWrite> | Map<string, TensorToWrite>;

function naturalDtype(data: TensorData): SafetensorsDtype {
  if (data instanceof Float32Array) return 'F32';
  if (data instanceof Float64Array) return 'F64';
  if (data instanceof BigInt64Array) return 'I64';
  if (data instanceof BigUint64Array) return 'U64';
  if (data instanceof Int32Array) return 'I32';
  if (data instanceof Uint32Array) return 'U32';
  if (data instanceof Int16Array) return 'I16';
  if (data instanceof Uint16Array) return 'U16';
  if (data instanceof Int8Array) return 'I8';
  return 'U8';
}

function encodeTensor(name: string, t: TensorToWrite): { dtype: SafetensorsDtype; bytes: Uint8Array } {
  const natural = naturalDtype(t.data);
  const dtype = t.dtype ?? natural;
  if (!isDtype(dtype)) throw new Error(`writeSafetensors: tensor "${name}": unknown dtype ${JSON.stringify(dtype)}`);
  if (!Array.isArray(t.shape) || !t.shape.every(isNonNegInt)) {
    throw new Error(`writeSafetensors: tensor "${name}": shape must be non-negative integers, got ${JSON.stringify(t.shape)}`);
  }
  const numel = product(t.shape);
  if (t.data.length !== numel) {
    throw new Error(`writeSafetensors: tensor "${name}": shape [${t.shape.join(', ')}] has ${numel} elements but data has ${t.data.length}`);
  }
  const asBytes = (v: ArrayBufferView): Uint8Array => new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  if ((dtype === 'F16' || dtype === 'BF16') && t.data instanceof Float32Array) {
    return { dtype, bytes: asBytes(dtype === 'F16' ? f32ToF16(t.data) : f32ToBf16(t.data)) };
  }
  const rawOk =
    dtype === natural ||
    ((dtype === 'F16' || dtype === 'BF16') && natural === 'U16') ||
    ((dtype === 'BOOL' || dtype === 'F8_E4M3' || dtype === 'F8_E5M2') && natural === 'U8');
  if (!rawOk) {
    throw new Error(
      `writeSafetensors: tensor "${name}": dtype ${dtype} cannot be written from ${t.data.constructor.name} (natural dtype ${natural})`,
    );
  }
  return { dtype, bytes: asBytes(t.data) };
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Serialise to safetensors chunks [prefix+header, tensor bytes...]. Header keys are sorted by name
 * (__metadata__ first). Data is laid out widest dtype first, then by name, like the reference
 * implementation, so every tensor starts at a multiple of its element size.
 */
export function serializeSafetensors(tensors: TensorsToWrite, metadata?: Record<string, string>): Uint8Array[] {
  assertLittleEndian();
  const entries = tensors instanceof Map ? [...tensors] : Object.entries(tensors);
  const encoded = entries.map(([name, t]) => {
    if (name === '__metadata__' || name.length === 0) throw new Error(`writeSafetensors: invalid tensor name ${JSON.stringify(name)}`);
    return { name, shape: [...t.shape], ...encodeTensor(name, t) };
  });
  const seen = new Set<string>();
  for (const e of encoded) {
    if (seen.has(e.name)) throw new Error(`writeSafetensors: duplicate tensor name "${e.name}"`);
    seen.add(e.name);
  }
  const layout = [...encoded].sort((a, b) => BYTES[b.dtype] - BYTES[a.dtype] || cmp(a.name, b.name));
  const offsets = new Map<string, [number, number]>();
  let pos = 0;
  for (const e of layout) {
    offsets.set(e.name, [pos, pos + e.bytes.byteLength]);
    pos += e.bytes.byteLength;
  }
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length > 0) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw new Error(`writeSafetensors: metadata "${k}" must be a string, got ${typeof v}`);
    }
    header.__metadata__ = metadata;
  }
  for (const e of [...encoded].sort((a, b) => cmp(a.name, b.name))) {
    header[e.name] = { dtype: e.dtype, shape: e.shape, data_offsets: offsets.get(e.name) };
  }
  let json = Buffer.from(JSON.stringify(header), 'utf8');
  // Pad with spaces so the data section starts 8-byte aligned (8 + N ≡ 0 mod 8).
  const pad = (8 - (json.length % 8)) % 8;
  if (pad) json = Buffer.concat([json, Buffer.alloc(pad, 0x20)]);
  const head = Buffer.alloc(8 + json.length);
  head.writeBigUInt64LE(BigInt(json.length), 0);
  json.copy(head, 8);
  return [head, ...layout.map((e) => e.bytes)];
}

/** Atomically write a safetensors file. */
export async function writeSafetensors(path: string, tensors: TensorsToWrite, metadata?: Record<string, string>): Promise<void> {
  await writeFileAtomic(path, serializeSafetensors(tensors, metadata));
}

/** Synchronous variant of {@link writeSafetensors}. */
export function writeSafetensorsSync(path: string, tensors: TensorsToWrite, metadata?: Record<string, string>): void {
  writeFileAtomicSync(path, serializeSafetensors(tensors, metadata));
}

// ---------------------------------------------------------------------------------------------
// Sharded checkpoints (model.safetensors.index.json + model-0000i-of-0000n.safetensors)

export const SAFETENSORS_INDEX = 'model.safetensors.index.json';

export interface SafetensorsIndex {
  metadata?: Record<string, unknown>;
  weight_map: Record<string, string>;
}

function checkShardName(shard: string, indexPath: string): void {
  const norm = normalize(shard);
  if (isAbsolute(shard) || norm.startsWith('..')) {
    throw new Error(`${indexPath}: shard path "${shard}" must be relative to the index's directory`);
  }
}

/** Read and validate a safetensors index file. */
export async function readSafetensorsIndex(indexPath: string): Promise<SafetensorsIndex> {
  let text: string;
  try {
    text = await fsp.readFile(indexPath, 'utf8');
  } catch (err) {
    throw new Error(`${indexPath}: cannot read safetensors index (${(err as Error).message})`, { cause: err });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`${indexPath}: index is not valid JSON (${(err as Error).message})`);
  }
  const wm = (json as { weight_map?: unknown } | null)?.weight_map;
  if (wm === null || typeof wm !== 'object' || Array.isArray(wm)) {
    throw new Error(`${indexPath}: index has no "weight_map" object`);
  }
  for (const [name, shard] of Object.entries(wm)) {
    if (typeof shard !== 'string') throw new Error(`${indexPath}: weight_map["${name}"] must be a file name, got ${JSON.stringify(shard)}`);
    checkShardName(shard, indexPath);
  }
  return json as SafetensorsIndex;
}

/** Shard file names of an index, in first-appearance order. */
export function shardFiles(index: SafetensorsIndex): string[] {
  return [...new Set(Object.values(index.weight_map))];
}

export interface ShardedReadOptions extends ReadOptions {
  /** Index file name inside `dir` (default model.safetensors.index.json). */
  indexName?: string;
}

/**
 * Read a sharded checkpoint: the index's weight_map names the shard holding each tensor; all shards
 * are merged into one map. Every shard is checked to exist before any is read.
 */
export async function readShardedSafetensors(dir: string, opts: ShardedReadOptions = {}): Promise<Map<string, SafetensorsTensor>> {
  const indexPath = join(dir, opts.indexName ?? SAFETENSORS_INDEX);
  const index = await readSafetensorsIndex(indexPath);
  const byShard = new Map<string, string[]>();
  for (const [name, shard] of Object.entries(index.weight_map)) {
    const list = byShard.get(shard) ?? [];
    list.push(name);
    byShard.set(shard, list);
  }
  for (const [shard, names] of byShard) {
    if (!fs.existsSync(join(dir, shard))) {
      throw new Error(
        `${indexPath}: shard "${shard}" (holding ${names.length} tensors, e.g. "${names[0]}") is missing from ${dir}`,
      );
    }
  }
  const merged = new Map<string, SafetensorsTensor>();
  const origin = new Map<string, string>();
  for (const [shard, names] of byShard) {
    const shardPath = join(dir, shard);
    const header = await readSafetensorsHeader(shardPath);
    const missing = names.find((name) => !header.tensors.has(name));
    if (missing !== undefined) {
      throw new Error(`${indexPath}: tensor "${missing}" is mapped to ${shard} but ${shardPath} does not contain it`);
    }
    const tensors = await readSafetensors(shardPath, opts);
    for (const [name, t] of tensors) {
      const prev = origin.get(name);
      if (prev !== undefined) throw new Error(`${dir}: tensor "${name}" appears in both ${prev} and ${shard}`);
      origin.set(name, shard);
      merged.set(name, t);
    }
  }
  return merged;
}

export interface CheckpointWriteOptions {
  /** Largest shard in bytes before splitting (default 5 GB, as transformers). */
  maxShardBytes?: number;
  /** safetensors __metadata__ written into every shard (default {format: 'pt'}, which transformers expects). */
  metadata?: Record<string, string>;
  /** File name stem (default "model"). */
  baseName?: string;
}

/**
 * Write weights the way transformers does: `<base>.safetensors` when they fit in one shard, otherwise
 * `<base>-0000i-of-0000n.safetensors` plus `<base>.safetensors.index.json`. Shards are written first and
 * the index last, each atomically, so a reader never sees an index pointing at missing shards.
 * Returns the file names written.
 */
export async function writeSafetensorsCheckpoint(dir: string, tensors: TensorsToWrite, opts: CheckpointWriteOptions = {}): Promise<string[]> {
  const maxShard = opts.maxShardBytes ?? 5_000_000_000;
  const base = opts.baseName ?? 'model';
  const metadata = opts.metadata ?? { format: 'pt' };
  const entries = tensors instanceof Map ? [...tensors] : Object.entries(tensors);
  const sizeOf = ([name, t]: [string, TensorToWrite]): number => {
    const dtype = t.dtype ?? naturalDtype(t.data);
    if (!isDtype(dtype)) throw new Error(`writeSafetensorsCheckpoint: tensor "${name}": unknown dtype ${JSON.stringify(dtype)}`);
    return t.data.length * BYTES[dtype];
  };
  const shards: [string, TensorToWrite][][] = [];
  let current: [string, TensorToWrite][] = [];
  let currentBytes = 0;
  let total = 0;
  for (const entry of entries) {
    const bytes = sizeOf(entry);
    total += bytes;
    if (current.length > 0 && currentBytes + bytes > maxShard) {
      shards.push(current);
      current = [];
      currentBytes = 0;
    }
    current.push(entry);
    currentBytes += bytes;
  }
  if (current.length > 0 || shards.length === 0) shards.push(current);
  if (shards.length === 1) {
    const file = `${base}.safetensors`;
    await writeSafetensors(join(dir, file), new Map(shards[0]), metadata);
    return [file];
  }
  const n = shards.length;
  const pad = (i: number): string => String(i).padStart(5, '0');
  const weightMap: Record<string, string> = {};
  const files: string[] = [];
  for (let i = 0; i < n; i++) {
    const file = `${base}-${pad(i + 1)}-of-${pad(n)}.safetensors`;
    await writeSafetensors(join(dir, file), new Map(shards[i]), metadata);
    for (const [name] of shards[i]!) weightMap[name] = file;
    files.push(file);
  }
  const sortedMap: Record<string, string> = {};
  for (const name of Object.keys(weightMap).sort(cmp)) sortedMap[name] = weightMap[name]!;
  const indexFile = `${base}.safetensors.index.json`;
  await writeJsonAtomic(join(dir, indexFile), { metadata: { total_size: total }, weight_map: sortedMap });
  return [...files, indexFile];
}
