/**
 * Writing safetensors files, atomically (temp file + rename, atomic.ts). Header keys are sorted by
 * name (__metadata__ first) and data is laid out widest dtype first, then by name, like the reference
 * implementation, so every tensor starts at a multiple of its element size.
 */
import type { TensorData } from '../../core/dtype.js';
import { elementCount } from '../../core/shape.js';
import { writeFileAtomic } from '../atomic.js';
import { SafetensorsError, defaultDtype, dtypeByteSize, encodeTensorData, isSafetensorsDtype, type SafetensorsDtype } from './codecs.js';
import { isNonNegInt } from './header.js';

export interface TensorToWrite {
  shape: readonly number[];
  data: TensorData;
  /**
   * Stored dtype. Defaults to F32, F64, I64, I32 or U8 after `data`'s array type; a Uint16Array
   * must say (F16, BF16 or U16). F16/BF16 also take Float32Array (rounded to nearest even).
   */
  dtype?: SafetensorsDtype;
}

export type TensorsToWrite = Record<string, TensorToWrite> | Map<string, TensorToWrite>;

export const tensorEntries = (tensors: TensorsToWrite): [string, TensorToWrite][] =>
  tensors instanceof Map ? [...tensors] : Object.entries(tensors);

/** The dtype a tensor is stored as, checked; `caller` starts errors. */
export function storedDtype(name: string, t: TensorToWrite, caller: string): SafetensorsDtype {
  const where = `${caller}: tensor "${name}"`;
  const dtype = t.dtype ?? defaultDtype(t.data, where);
  if (!isSafetensorsDtype(dtype)) throw new SafetensorsError(`${where}: unknown dtype ${JSON.stringify(dtype)}`);
  return dtype;
}

function encodeTensor(name: string, t: TensorToWrite): { dtype: SafetensorsDtype; bytes: Uint8Array } {
  const where = `writeSafetensors: tensor "${name}"`;
  const dtype = storedDtype(name, t, 'writeSafetensors');
  if (!Array.isArray(t.shape) || !t.shape.every(isNonNegInt)) {
    throw new SafetensorsError(`${where}: shape must be non-negative integers, got ${JSON.stringify(t.shape)}`);
  }
  const numel = elementCount(t.shape);
  if (t.data.length !== numel) {
    throw new SafetensorsError(`${where}: shape [${t.shape.join(', ')}] has ${numel} elements but data has ${t.data.length}`);
  }
  return { dtype, bytes: encodeTensorData(t.data, dtype, where) };
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Serialise to safetensors chunks [prefix+header, tensor bytes...]. */
export function serializeSafetensors(tensors: TensorsToWrite, metadata?: Record<string, string>): Uint8Array[] {
  const encoded = tensorEntries(tensors).map(([name, t]) => {
    if (name === '__metadata__' || name.length === 0) throw new SafetensorsError(`writeSafetensors: invalid tensor name ${JSON.stringify(name)}`);
    return { name, shape: [...t.shape], ...encodeTensor(name, t) };
  });
  const layout = [...encoded].sort((a, b) => dtypeByteSize(b.dtype) - dtypeByteSize(a.dtype) || cmp(a.name, b.name));
  const offsets = new Map<string, [number, number]>();
  let pos = 0;
  for (const e of layout) {
    offsets.set(e.name, [pos, pos + e.bytes.byteLength]);
    pos += e.bytes.byteLength;
  }
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length > 0) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw new SafetensorsError(`writeSafetensors: metadata "${k}" must be a string, got ${typeof v}`);
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
