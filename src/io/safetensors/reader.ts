/**
 * Reading safetensors files. Each tensor is read into its own freshly allocated buffer, so arrays
 * are always aligned and one tensor never pins the memory of the whole file. What each stored dtype
 * decodes to is in codecs.ts; the stored dtype stays in the record.
 */
import * as fsp from 'node:fs/promises';
import type { TensorData } from '../../core/dtype.js';
import { SafetensorsError, decodeTensorBytes, toFloat32, type SafetensorsDtype } from './codecs.js';
import { headerLength, parseSafetensorsHeader, type SafetensorsHeader, type TensorInfo } from './header.js';

/** A decoded tensor: `dtype` is what the file stores, `data` its values (F16/BF16/F8 already Float32Array). */
export interface SafetensorsTensor {
  dtype: SafetensorsDtype;
  shape: number[];
  data: TensorData;
}

export interface F32Tensor {
  shape: number[];
  data: Float32Array;
}

export interface ReadOptions {
  /** Only decode tensors for which this returns true (the rest are never read from disk). */
  filter?: (name: string, info: TensorInfo) => boolean;
}

async function openForRead(path: string): Promise<fsp.FileHandle> {
  try {
    return await fsp.open(path, 'r');
  } catch (err) {
    throw new SafetensorsError(`${path}: cannot open safetensors file (${(err as Error).message})`, { cause: err });
  }
}

async function readExact(fh: fsp.FileHandle, into: Uint8Array, position: number, source: string): Promise<void> {
  for (let done = 0; done < into.length; ) {
    const len = Math.min(into.length - done, 1 << 30);
    const { bytesRead } = await fh.read(into, done, len, position + done);
    if (bytesRead === 0) throw new SafetensorsError(`${source}: unexpected end of file at byte ${position + done}`);
    done += bytesRead;
  }
}

async function readHeaderFromHandle(fh: fsp.FileHandle, source: string): Promise<SafetensorsHeader> {
  const size = (await fh.stat()).size;
  const prefix = new Uint8Array(8);
  await readExact(fh, prefix.subarray(0, Math.min(8, size)), 0, source);
  const n = headerLength(prefix, size, source);
  const headerBytes = new Uint8Array(n);
  await readExact(fh, headerBytes, 8, source);
  return parseSafetensorsHeader(headerBytes, size - 8 - n, source);
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

/** Read the tensors of a safetensors file (all, or those `opts.filter` keeps). Map order = header order. */
export async function readSafetensors(path: string, opts: ReadOptions = {}): Promise<Map<string, SafetensorsTensor>> {
  const fh = await openForRead(path);
  try {
    const header = await readHeaderFromHandle(fh, path);
    const wanted = [...header.tensors].filter(([name, info]) => !opts.filter || opts.filter(name, info));
    // Read in file order: sequential I/O.
    wanted.sort((a, b) => a[1].dataOffsets[0] - b[1].dataOffsets[0]);
    const decoded = new Map<string, SafetensorsTensor>();
    for (const [name, info] of wanted) {
      const [begin, end] = info.dataOffsets;
      const where = `${path}: tensor "${name}"`;
      const raw = new Uint8Array(end - begin);
      await readExact(fh, raw, header.dataStart + begin, where);
      decoded.set(name, { dtype: info.dtype, shape: info.shape, data: decodeTensorBytes(raw, info.dtype, where) });
    }
    const out = new Map<string, SafetensorsTensor>();
    for (const name of header.tensors.keys()) {
      const t = decoded.get(name);
      if (t) out.set(name, t);
    }
    return out;
  } finally {
    await fh.close();
  }
}

/** Read a safetensors file with every tensor as Float32Array (integers included, via Number). */
export async function loadF32(path: string, opts: ReadOptions = {}): Promise<Map<string, F32Tensor>> {
  const out = new Map<string, F32Tensor>();
  for (const [name, t] of await readSafetensors(path, opts)) out.set(name, { shape: t.shape, data: toFloat32(t) });
  return out;
}
