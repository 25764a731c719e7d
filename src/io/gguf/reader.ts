/**
 * The GGUF container (ggml's docs/gguf.md, versions 2 and 3, little-endian):
 *   magic "GGUF", version u32, tensor_count u64, metadata_kv_count u64,
 *   metadata: key (u64 length + UTF-8), value type u32, value (arrays: item type u32, count u64, items),
 *   tensor infos: name, n_dims u32, dims u64 × n_dims (innermost first), ggml type u32, offset u64,
 *   padding to `general.alignment` (default 32), then the tensor data, each tensor at its offset.
 * The header is read through a window of the file, so a multi-gigabyte file costs only its header;
 * tensors are read one at a time. Every count, length and offset is checked against the file's size,
 * and the error names what was being read. (@huggingface/gguf is not used: it brings @huggingface/tasks
 * along, and these checks and named errors would be needed around it anyway.)
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import { GgufFormatError, GgufTensorTypeError } from './errors.js';
import { GGML_TYPES, GGUF_DEFAULT_ALIGNMENT, GGUF_MAGIC, GgufValueType, ggmlTypeName, type GgufValue } from './types.js';

export interface GgufTensorInfo {
  name: string;
  /** ggml order: dims[0] is the innermost (contiguous) one, a matrix's row length. */
  dims: number[];
  type: number;
  typeName: string;
  /** Offset from the start of the data section. */
  offset: number;
  byteLength: number;
  elements: number;
}

export interface GgufFile {
  path: string;
  version: number;
  alignment: number;
  metadata: Map<string, GgufValue>;
  tensors: GgufTensorInfo[];
  /** Absolute offset of the data section. */
  dataStart: number;
  fileSize: number;
}

const WINDOW = 1 << 20;
const MAX_DIMS = 4;

/** Sequential little-endian reads over a file through a window. */
class Cursor {
  pos = 0;
  private buf = Buffer.alloc(0);
  private bufStart = 0;

  constructor(
    private readonly fd: number,
    readonly size: number,
    private readonly path: string,
  ) {}

  private need(n: number, what: () => string): number {
    if (this.pos + n > this.size) throw new GgufFormatError(this.path, `the file is cut short: ${what()} needs ${n} bytes at offset ${this.pos}, the file has ${this.size}`);
    if (this.pos < this.bufStart || this.pos + n > this.bufStart + this.buf.length) {
      const len = Math.min(Math.max(n, WINDOW), this.size - this.pos);
      this.buf = Buffer.alloc(len);
      fs.readSync(this.fd, this.buf, 0, len, this.pos);
      this.bufStart = this.pos;
    }
    const at = this.pos - this.bufStart;
    this.pos += n;
    return at;
  }

  u8 = (what: () => string): number => {
    const at = this.need(1, what); // before reading this.buf: need() may replace it
    return this.buf.readUInt8(at);
  };
  i8 = (what: () => string): number => {
    const at = this.need(1, what);
    return this.buf.readInt8(at);
  };
  u16 = (what: () => string): number => {
    const at = this.need(2, what);
    return this.buf.readUInt16LE(at);
  };
  i16 = (what: () => string): number => {
    const at = this.need(2, what);
    return this.buf.readInt16LE(at);
  };
  u32 = (what: () => string): number => {
    const at = this.need(4, what);
    return this.buf.readUInt32LE(at);
  };
  i32 = (what: () => string): number => {
    const at = this.need(4, what);
    return this.buf.readInt32LE(at);
  };
  f32 = (what: () => string): number => {
    const at = this.need(4, what);
    return this.buf.readFloatLE(at);
  };
  f64 = (what: () => string): number => {
    const at = this.need(8, what);
    return this.buf.readDoubleLE(at);
  };
  u64 = (what: () => string): bigint => {
    const at = this.need(8, what);
    return this.buf.readBigUInt64LE(at);
  };
  i64 = (what: () => string): bigint => {
    const at = this.need(8, what);
    return this.buf.readBigInt64LE(at);
  };

  /** A u64 that must be a safe JS integer no larger than `max` (a count, length or offset). */
  size64(what: () => string, max: number): number {
    const v = this.u64(what);
    if (v > BigInt(max)) throw new GgufFormatError(this.path, `${what()} is ${v}, more than the file can hold (${max})`);
    return Number(v);
  }

  string(what: () => string): string {
    const len = this.size64(() => `the length of ${what()}`, this.size - this.pos - 8);
    const at = this.need(len, what);
    return this.buf.toString('utf8', at, at + len);
  }
}

/** 64-bit integers as numbers while exact, else bigint. */
const int64 = (v: bigint): number | bigint => (v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v);

function readValue(c: Cursor, type: number, what: () => string, path: string, depth = 0): GgufValue {
  switch (type) {
    case GgufValueType.UINT8: return c.u8(what);
    case GgufValueType.INT8: return c.i8(what);
    case GgufValueType.UINT16: return c.u16(what);
    case GgufValueType.INT16: return c.i16(what);
    case GgufValueType.UINT32: return c.u32(what);
    case GgufValueType.INT32: return c.i32(what);
    case GgufValueType.FLOAT32: return c.f32(what);
    case GgufValueType.FLOAT64: return c.f64(what);
    case GgufValueType.UINT64: return int64(c.u64(what));
    case GgufValueType.INT64: return int64(c.i64(what));
    case GgufValueType.BOOL: {
      const b = c.u8(what);
      if (b > 1) throw new GgufFormatError(path, `${what()} is a bool holding ${b}`);
      return b === 1;
    }
    case GgufValueType.STRING: return c.string(what);
    case GgufValueType.ARRAY: {
      if (depth > 0) throw new GgufFormatError(path, `${what()} nests arrays, which this reader does not read`);
      const itemType = c.u32(() => `the item type of ${what()}`);
      const count = c.size64(() => `the length of ${what()}`, c.size - c.pos);
      const out: GgufValue[] = new Array(count);
      for (let i = 0; i < count; i++) out[i] = readValue(c, itemType, () => `item ${i} of ${what()}`, path, depth + 1);
      return out;
    }
    default:
      throw new GgufFormatError(path, `${what()} has unknown value type ${type}`);
  }
}

const alignUp = (n: number, a: number): number => Math.ceil(n / a) * a;

/** Read a GGUF file's header: metadata and tensor infos, all checked. */
export async function readGgufHeader(path: string): Promise<GgufFile> {
  let fd: number;
  try {
    fd = fs.openSync(path, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new GgufFormatError(path, code === 'ENOENT' ? 'no such file (GGUF files are read from a local path)' : `cannot open (${(err as Error).message})`);
  }
  try {
    return parseHeader(new Cursor(fd, fs.fstatSync(fd).size, path), path);
  } finally {
    fs.closeSync(fd);
  }
}

function parseHeader(c: Cursor, path: string): GgufFile {
  const magic = c.u32(() => 'the magic number');
  if (magic !== GGUF_MAGIC) throw new GgufFormatError(path, `not a GGUF file (magic 0x${magic.toString(16).padStart(8, '0')}, expected "GGUF")`);
  const version = c.u32(() => 'the version');
  if (version !== 2 && version !== 3) {
    const hint = version > 0xffff ? ' (a big-endian file? only little-endian GGUF is read)' : version === 1 ? ' (version 1 files predate 64-bit counts; convert the model again)' : '';
    throw new GgufFormatError(path, `GGUF version ${version} is not supported, only 2 and 3${hint}`);
  }
  // Each tensor info and key/value takes more than 8 bytes, so neither count can exceed size / 8.
  const tensorCount = c.size64(() => 'the header tensor_count', Math.floor(c.size / 8));
  const kvCount = c.size64(() => 'the header metadata_kv_count', Math.floor(c.size / 8));

  const metadata = new Map<string, GgufValue>();
  for (let i = 0; i < kvCount; i++) {
    const key = c.string(() => `metadata key ${i} of ${kvCount}`);
    if (metadata.has(key)) throw new GgufFormatError(path, `metadata key '${key}' appears twice`, key);
    const type = c.u32(() => `the value type of metadata key '${key}'`);
    metadata.set(key, readValue(c, type, () => `the value of metadata key '${key}'`, path));
  }
  const alignment = metadata.get('general.alignment') ?? GGUF_DEFAULT_ALIGNMENT;
  if (typeof alignment !== 'number' || alignment <= 0 || (alignment & (alignment - 1)) !== 0) {
    throw new GgufFormatError(path, `general.alignment must be a power of two, got ${String(alignment)}`, 'general.alignment');
  }

  const tensors: GgufTensorInfo[] = [];
  const names = new Set<string>();
  for (let i = 0; i < tensorCount; i++) {
    const last = tensors.length ? ` after tensor '${tensors[tensors.length - 1]!.name}'` : '';
    try {
      tensors.push(readTensorInfo(c, path, i, alignment));
    } catch (err) {
      if (!(err instanceof GgufFormatError) || i === 0) throw err;
      const e = new GgufFormatError(path, `the header's tensor_count is ${tensorCount}, but tensor info ${i}${last} does not read: ${err.message.slice(path.length + 2)}`);
      throw e;
    }
    const name = tensors[i]!.name;
    if (names.has(name)) throw new GgufFormatError(path, `tensor '${name}' is listed twice`, undefined, name);
    names.add(name);
  }
  const dataStart = alignUp(c.pos, alignment);
  checkData(path, tensors, dataStart, c.size, alignment, tensorCount);
  return { path, version, alignment, metadata, tensors, dataStart, fileSize: c.size };
}

function readTensorInfo(c: Cursor, path: string, i: number, alignment: number): GgufTensorInfo {
  const name = c.string(() => `the name of tensor ${i}`);
  const nDims = c.u32(() => `the rank of tensor '${name}'`);
  if (nDims < 1 || nDims > MAX_DIMS) throw new GgufFormatError(path, `tensor '${name}' has rank ${nDims}, expected 1 to ${MAX_DIMS}`, undefined, name);
  const dims: number[] = [];
  for (let d = 0; d < nDims; d++) {
    const n = c.size64(() => `dimension ${d} of tensor '${name}'`, Number.MAX_SAFE_INTEGER);
    if (n < 1) throw new GgufFormatError(path, `tensor '${name}' has dimension ${d} of size 0`, undefined, name);
    dims.push(n);
  }
  const type = c.u32(() => `the type of tensor '${name}'`);
  const info = GGML_TYPES[type];
  if (!info) throw new GgufTensorTypeError(path, name, ggmlTypeName(type), `tensor '${name}' has ggml type ${type}, which is not a known type`);
  const offset = c.size64(() => `the offset of tensor '${name}'`, c.size);
  if (offset % alignment !== 0) throw new GgufFormatError(path, `tensor '${name}' is at offset ${offset}, not a multiple of the alignment ${alignment}`, undefined, name);
  if (dims[0]! % info.blockSize !== 0) {
    throw new GgufFormatError(path, `tensor '${name}' has rows of ${dims[0]} values, not a whole number of ${info.name} blocks of ${info.blockSize}`, undefined, name);
  }
  const elements = dims.reduce((a, b) => a * b, 1);
  return { name, dims, type, typeName: info.name, offset, byteLength: (elements / info.blockSize) * info.typeSize, elements };
}

function checkData(path: string, tensors: readonly GgufTensorInfo[], dataStart: number, size: number, alignment: number, count: number): void {
  let end = 0;
  for (const t of [...tensors].sort((a, b) => a.offset - b.offset)) {
    if (t.offset < end) throw new GgufFormatError(path, `tensor '${t.name}' at offset ${t.offset} overlaps the tensor before it (which ends at ${end})`, undefined, t.name);
    end = t.offset + t.byteLength;
    if (dataStart + end > size) {
      throw new GgufFormatError(path, `the file is cut short: tensor '${t.name}' (${t.typeName} [${t.dims.join(', ')}]) ends at byte ${dataStart + end}, the file has ${size}`, undefined, t.name);
    }
  }
  // Writers pad only up to the alignment after the last tensor; more means tensors the header does not count.
  const spare = size - (dataStart + end);
  if (spare >= alignment) {
    throw new GgufFormatError(path, `${spare} bytes follow the last tensor's data: the header's tensor_count (${count}) may be smaller than the tensors the file holds`);
  }
}

/** One tensor's bytes in a buffer of their own (so typed views over it are aligned). */
export async function readTensorBytes(file: GgufFile, tensor: GgufTensorInfo): Promise<Uint8Array> {
  const out = new Uint8Array(tensor.byteLength);
  const fh = await fsp.open(file.path, 'r');
  try {
    const { bytesRead } = await fh.read(out, 0, out.length, file.dataStart + tensor.offset);
    if (bytesRead !== out.length) throw new GgufFormatError(file.path, `tensor '${tensor.name}' is cut short (${bytesRead} of ${out.length} bytes)`, undefined, tensor.name);
  } finally {
    await fh.close();
  }
  return out;
}
