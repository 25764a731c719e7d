/**
 * IDX files, the format of MNIST, Fashion-MNIST, KMNIST and EMNIST downloads.
 *
 * Layout: two zero bytes, a dtype code, the number of dimensions, then each
 * dimension as a big-endian uint32, then the values, big-endian, row-major.
 * Files may be gzipped; we detect that from the gzip magic bytes, not the
 * file name, because IDX data never starts with 0x1f 0x8b.
 */
import { access, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import type { ImageDataset } from './batches.js';

const gunzipAsync = promisify(gunzip);

export type IdxDtype = 'uint8' | 'int8' | 'int16' | 'int32' | 'float32' | 'float64';

export type IdxData = Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;

export interface IdxArray {
  dtype: IdxDtype;
  shape: number[];
  data: IdxData;
}

interface DtypeInfo {
  dtype: IdxDtype;
  bytes: number;
}

const DTYPES: ReadonlyMap<number, DtypeInfo> = new Map([
  [0x08, { dtype: 'uint8', bytes: 1 }],
  [0x09, { dtype: 'int8', bytes: 1 }],
  [0x0b, { dtype: 'int16', bytes: 2 }],
  [0x0c, { dtype: 'int32', bytes: 4 }],
  [0x0d, { dtype: 'float32', bytes: 4 }],
  [0x0e, { dtype: 'float64', bytes: 8 }],
]);

function hex(byte: number): string {
  return `0x${byte.toString(16).padStart(2, '0')}`;
}

function isGzip(buf: Uint8Array): boolean {
  return buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b;
}

/**
 * Decodes IDX bytes (not gzipped). `name` only labels error messages.
 * Checks the header and that the data size matches the declared shape exactly.
 */
export function parseIdx(buf: Uint8Array, name = '<buffer>'): IdxArray {
  if (buf.length < 4) {
    throw new Error(`${name}: IDX header needs 4 bytes, file has ${buf.length}`);
  }
  if (buf[0] !== 0 || buf[1] !== 0) {
    throw new Error(
      `${name}: bad IDX magic number (first bytes ${hex(buf[0]!)} ${hex(buf[1]!)}, expected 0x00 0x00); not an IDX file?`,
    );
  }
  const code = buf[2]!;
  const info = DTYPES.get(code);
  if (!info) {
    throw new Error(
      `${name}: unknown IDX dtype code ${hex(code)} (expected 0x08, 0x09, 0x0b, 0x0c, 0x0d or 0x0e)`,
    );
  }
  const ndim = buf[3]!;
  if (ndim === 0) throw new Error(`${name}: IDX header declares 0 dimensions`);
  const headerBytes = 4 + 4 * ndim;
  if (buf.length < headerBytes) {
    throw new Error(
      `${name}: IDX header declares ${ndim} dimensions, needing ${headerBytes} header bytes, but the file has ${buf.length}`,
    );
  }
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const shape: number[] = [];
  let size = 1;
  for (let d = 0; d < ndim; d++) {
    const dim = view.getUint32(4 + 4 * d, false);
    shape.push(dim);
    size *= dim;
  }
  const expected = size * info.bytes;
  const actual = buf.length - headerBytes;
  if (actual !== expected) {
    throw new Error(
      `${name}: IDX shape [${shape.join(', ')}] of ${info.dtype} needs ${expected} data bytes, file has ${actual}` +
        (actual < expected ? ' (truncated?)' : ' (trailing bytes)'),
    );
  }

  const data = decodeValues(view, headerBytes, size, info.dtype);
  return { dtype: info.dtype, shape, data };
}

function decodeValues(view: DataView, offset: number, size: number, dtype: IdxDtype): IdxData {
  switch (dtype) {
    case 'uint8':
      return new Uint8Array(view.buffer.slice(view.byteOffset + offset, view.byteOffset + offset + size));
    case 'int8':
      return new Int8Array(view.buffer.slice(view.byteOffset + offset, view.byteOffset + offset + size));
    case 'int16': {
      const out = new Int16Array(size);
      for (let i = 0; i < size; i++) out[i] = view.getInt16(offset + 2 * i, false);
      return out;
    }
    case 'int32': {
      const out = new Int32Array(size);
      for (let i = 0; i < size; i++) out[i] = view.getInt32(offset + 4 * i, false);
      return out;
    }
    case 'float32': {
      const out = new Float32Array(size);
      for (let i = 0; i < size; i++) out[i] = view.getFloat32(offset + 4 * i, false);
      return out;
    }
    case 'float64': {
      const out = new Float64Array(size);
      for (let i = 0; i < size; i++) out[i] = view.getFloat64(offset + 8 * i, false);
      return out;
    }
  }
}

const CODES: Record<IdxDtype, number> = {
  uint8: 0x08,
  int8: 0x09,
  int16: 0x0b,
  int32: 0x0c,
  float32: 0x0d,
  float64: 0x0e,
};

function dtypeOf(data: IdxData): IdxDtype {
  if (data instanceof Uint8Array) return 'uint8';
  if (data instanceof Int8Array) return 'int8';
  if (data instanceof Int16Array) return 'int16';
  if (data instanceof Int32Array) return 'int32';
  if (data instanceof Float32Array) return 'float32';
  return 'float64';
}

/** Encodes an array as IDX bytes; the dtype follows the typed array. */
export function encodeIdx(data: IdxData, shape: readonly number[]): Buffer {
  if (shape.length === 0 || shape.length > 255) {
    throw new RangeError(`encodeIdx: shape must have 1 to 255 dimensions, got ${shape.length}`);
  }
  let size = 1;
  for (const dim of shape) {
    if (!Number.isInteger(dim) || dim < 0 || dim > 0xffffffff) {
      throw new RangeError(`encodeIdx: dimension ${dim} in shape [${shape.join(', ')}] is not a uint32`);
    }
    size *= dim;
  }
  if (size !== data.length) {
    throw new RangeError(
      `encodeIdx: shape [${shape.join(', ')}] holds ${size} values but data has ${data.length}`,
    );
  }
  const dtype = dtypeOf(data);
  const header = 4 + 4 * shape.length;
  const out = Buffer.alloc(header + data.byteLength);
  out[2] = CODES[dtype];
  out[3] = shape.length;
  shape.forEach((dim, d) => out.writeUInt32BE(dim, 4 + 4 * d));
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    switch (dtype) {
      case 'uint8': view.setUint8(header + i, v); break;
      case 'int8': view.setInt8(header + i, v); break;
      case 'int16': view.setInt16(header + 2 * i, v, false); break;
      case 'int32': view.setInt32(header + 4 * i, v, false); break;
      case 'float32': view.setFloat32(header + 4 * i, v, false); break;
      case 'float64': view.setFloat64(header + 8 * i, v, false); break;
    }
  }
  return out;
}

/** Reads an IDX file, gunzipping it first when it is gzip-compressed. */
export async function readIdx(path: string): Promise<IdxArray> {
  let buf: Buffer;
  try {
    buf = await readFile(path);
  } catch (err) {
    throw new Error(`readIdx: cannot read ${path}: ${(err as Error).message}`);
  }
  if (isGzip(buf)) {
    try {
      buf = await gunzipAsync(buf);
    } catch (err) {
      throw new Error(`${path}: corrupt gzip data: ${(err as Error).message}`);
    }
  }
  return parseIdx(buf, path);
}

export type IdxSplit = 'train' | 't10k';

export interface IdxDatasetOptions {
  split: IdxSplit;
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/** Finds `<split>-<kind>-idx<n>-ubyte` (or `.idx<n>-ubyte`), plain or `.gz`. */
async function findFile(dir: string, split: IdxSplit, kind: 'images' | 'labels'): Promise<string> {
  const n = kind === 'images' ? 3 : 1;
  const names = [`${split}-${kind}-idx${n}-ubyte`, `${split}-${kind}.idx${n}-ubyte`];
  const candidates = names.flatMap((name) => [name, `${name}.gz`]);
  for (const name of candidates) {
    const path = join(dir, name);
    if (await exists(path)) return path;
  }
  throw new Error(`loadIdxDataset: no ${split} ${kind} file in ${dir} (looked for ${candidates.join(', ')})`);
}

/**
 * Loads one split of an MNIST-format directory (MNIST, Fashion-MNIST, …) as
 * images scaled from bytes to [0, 1] and uint8 labels.
 */
export async function loadIdxDataset(dir: string, options: IdxDatasetOptions): Promise<ImageDataset> {
  const { split } = options;
  if (split !== 'train' && split !== 't10k') {
    throw new Error(`loadIdxDataset: split must be 'train' or 't10k', got ${String(split)}`);
  }
  // Sequential so a directory missing both files always reports the images first.
  const imagePath = await findFile(dir, split, 'images');
  const labelPath = await findFile(dir, split, 'labels');
  const [img, lab] = await Promise.all([readIdx(imagePath), readIdx(labelPath)]);

  if (img.dtype !== 'uint8' || img.shape.length !== 3) {
    throw new Error(
      `${imagePath}: expected uint8 images of shape [count, rows, cols], got ${img.dtype} [${img.shape.join(', ')}]`,
    );
  }
  if (lab.dtype !== 'uint8' || lab.shape.length !== 1) {
    throw new Error(
      `${labelPath}: expected uint8 labels of shape [count], got ${lab.dtype} [${lab.shape.join(', ')}]`,
    );
  }
  const [count, rows, cols] = img.shape as [number, number, number];
  if (lab.shape[0] !== count) {
    throw new Error(`${labelPath}: has ${lab.shape[0]} labels but ${imagePath} has ${count} images`);
  }
  const images = new Float32Array(img.data.length);
  for (let i = 0; i < images.length; i++) images[i] = img.data[i]! / 255;
  return { images, labels: lab.data as Uint8Array, count, rows, cols };
}
