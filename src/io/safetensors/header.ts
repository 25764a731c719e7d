/**
 * The safetensors header (https://huggingface.co/docs/safetensors): an 8-byte little-endian length
 * N, then N bytes of JSON {name: {dtype, shape, data_offsets: [begin, end]}, __metadata__?}. Offsets
 * are relative to the start of the data section, which follows the header.
 */
import { elementCount } from '../../core/shape.js';
import { SAFETENSORS_DTYPES, SafetensorsError, dtypeByteSize, isSafetensorsDtype, type SafetensorsDtype } from './codecs.js';

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

// The reference implementation refuses headers above 100 MB; so do we.
const MAX_HEADER = 100_000_000;

export const isNonNegInt = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;

/** The header length N from the first 8 bytes, checked against the file size. */
export function headerLength(prefix: Uint8Array, fileSize: number, source: string): number {
  if (fileSize < 8) throw new SafetensorsError(`${source}: file too short to be safetensors (${fileSize} bytes, need at least 8)`);
  const n = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(fileSize - 8) || n > BigInt(MAX_HEADER)) {
    throw new SafetensorsError(`${source}: header length ${n} is absurd (file is ${fileSize} bytes; headers are limited to ${MAX_HEADER} bytes)`);
  }
  return Number(n);
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
    throw new SafetensorsError(`${source}: safetensors header is not valid UTF-8 JSON (${(err as Error).message})`);
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new SafetensorsError(`${source}: safetensors header must be a JSON object`);
  }
  const tensors = new Map<string, TensorInfo>();
  let metadata: Record<string, string> = {};
  for (const [name, raw] of Object.entries(json as Record<string, unknown>)) {
    if (name === '__metadata__') {
      metadata = parseMetadata(raw, source);
      continue;
    }
    tensors.set(name, parseEntry(raw, dataSize, `${source}: tensor "${name}"`));
  }
  checkNoOverlap(tensors, source);
  return { tensors, metadata, dataStart: 8 + headerBytes.byteLength, dataSize };
}

function parseMetadata(raw: unknown, source: string): Record<string, string> {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new SafetensorsError(`${source}: __metadata__ must be an object of strings`);
  }
  for (const [k, v] of Object.entries(raw)) {
    if (typeof v !== 'string') throw new SafetensorsError(`${source}: __metadata__["${k}"] must be a string, got ${JSON.stringify(v)}`);
  }
  return raw as Record<string, string>;
}

function parseEntry(raw: unknown, dataSize: number, where: string): TensorInfo {
  if (raw === null || typeof raw !== 'object') throw new SafetensorsError(`${where}: header entry must be an object`);
  const e = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
  if (!isSafetensorsDtype(e.dtype)) {
    throw new SafetensorsError(`${where}: unknown dtype ${JSON.stringify(e.dtype)} (supported: ${SAFETENSORS_DTYPES.join(', ')})`);
  }
  if (!Array.isArray(e.shape) || !e.shape.every(isNonNegInt)) {
    throw new SafetensorsError(`${where}: shape must be an array of non-negative integers, got ${JSON.stringify(e.shape)}`);
  }
  const off = e.data_offsets;
  if (!Array.isArray(off) || off.length !== 2 || !isNonNegInt(off[0]) || !isNonNegInt(off[1]) || off[0] > off[1]) {
    throw new SafetensorsError(`${where}: data_offsets must be [begin, end] with 0 <= begin <= end, got ${JSON.stringify(off)}`);
  }
  const [begin, end] = off as [number, number];
  if (end > dataSize) {
    throw new SafetensorsError(`${where}: data_offsets [${begin}, ${end}] run past the end of the data section (${dataSize} bytes)`);
  }
  const shape = e.shape as number[];
  const expected = elementCount(shape) * dtypeByteSize(e.dtype);
  if (end - begin !== expected) {
    throw new SafetensorsError(
      `${where}: data_offsets [${begin}, ${end}] span ${end - begin} bytes but shape [${shape.join(', ')}] × ${e.dtype} needs ${expected}`,
    );
  }
  return { dtype: e.dtype, shape, dataOffsets: [begin, end] };
}

// Sort by begin and compare neighbours. Empty tensors occupy nothing.
function checkNoOverlap(tensors: Map<string, TensorInfo>, source: string): void {
  const spans = [...tensors].filter(([, t]) => t.dataOffsets[1] > t.dataOffsets[0]);
  spans.sort((a, b) => a[1].dataOffsets[0] - b[1].dataOffsets[0]);
  for (let i = 1; i < spans.length; i++) {
    const [pn, p] = spans[i - 1]!;
    const [cn, c] = spans[i]!;
    if (c.dataOffsets[0] < p.dataOffsets[1]) {
      throw new SafetensorsError(
        `${source}: tensor "${cn}" bytes [${c.dataOffsets.join(', ')}] overlap tensor "${pn}" bytes [${p.dataOffsets.join(', ')}]`,
      );
    }
  }
}
