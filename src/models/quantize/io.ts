/**
 * Forja's quantized checkpoint: a Hugging Face directory whose config.json
 * carries `quantization_config` (config.ts) and whose model.safetensors holds,
 * for each quantized linear map `<module>` (the head as `lm_head`, also when
 * it is tied to the embedding):
 *   <module>.qweight  U8  [N, K/group, group·bits/8]  MatMulNBits' B (low nibble first)
 *   <module>.scales   F32 [N, K/group]
 *   <module>.qzeros   U8  [N, ⌈(K/group)·bits/8⌉]    asymmetric only
 * and every other tensor under its usual name and layout: biases, norms and
 * position embeddings in F32, the input embedding in F32 or F16 (embedding
 * "float32" / "float16"), or, with embedding "quantized", as `<embedding
 * module>.qweight/.scales/.qzeros` (untied) or not at all (tied: the gather
 * reads lm_head's). N is the output size and K the input size of each map.
 *
 * Loading reads those tensors as they are stored: uint8 and float16 are
 * never widened, and no float32 copy of a quantized weight is made.
 */
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { NonFiniteWeightsError, type JsonObject } from '../../io/hf-checkpoint.js';
import { saveHfCheckpoint, type CheckpointFile } from '../../io/hf-save.js';
import { readSafetensorsHeader, type SafetensorsDtype, type TensorToWrite } from '../../io/safetensors.js';
import { formatShape } from '../../core/shape.js';
import type { ConfigJson } from '../transformer/config.js';
import { bindWeights, unbindWeights, type CheckpointTensor } from '../transformer/weights.js';
import { configArchitecture, HEAD } from './architecture.js';
import { QuantizedCheckpointError, type QuantizationConfig } from './config.js';
import { QuantizedModel, quantizedLinears, type EmbeddingTable, type QuantizedModelOptions } from './model.js';
import { packedShapes, type QuantizedMatrix } from './pack.js';

export const WEIGHTS_FILE = 'model.safetensors';

/** Every tensor of `model` under the documented names. */
export function quantizedTensors(model: QuantizedModel): Map<string, TensorToWrite> {
  const out = new Map<string, TensorToWrite>();
  const put = (module: string, q: QuantizedMatrix) => {
    const shapes = packedShapes(q.n, q.k, q);
    out.set(`${module}.qweight`, { shape: shapes.data, data: q.data, dtype: 'U8' });
    out.set(`${module}.scales`, { shape: shapes.scales, data: q.scales, dtype: 'F32' });
    if (q.zeros) out.set(`${module}.qzeros`, { shape: shapes.zeros, data: q.zeros, dtype: 'U8' });
  };
  for (const [module, q] of model.linears) put(module, q);
  const { arch, embeddingTable: table } = model;
  if (table?.kind === 'float16') out.set(arch.embedding.tensor, { shape: table.shape, data: table.bits, dtype: 'F16' });
  else if (table && table.matrix !== model.linears.get(HEAD)) put(arch.embedding.module, table.matrix);
  const floats = arch.tensors.filter((t) => model.weights.has(t.name));
  for (const [name, t] of unbindWeights(floats, model.weights)) out.set(name, { shape: t.shape, data: t.data });
  return out;
}

export interface SaveQuantizedOptions {
  /** The float checkpoint's config.json; `quantization_config` is added to it. */
  config: JsonObject;
  generationConfig?: JsonObject | undefined;
  /** Further files by name (tokenizer files). */
  files?: Readonly<Record<string, CheckpointFile>>;
}

/** Write `model` as a quantized checkpoint directory (atomically replacing `dir`). Returns the file names. */
export async function saveQuantized(model: QuantizedModel, dir: string, opts: SaveQuantizedOptions): Promise<string[]> {
  const config: JsonObject = { ...opts.config, quantization_config: { ...model.config } };
  return saveHfCheckpoint(dir, {
    config,
    weights: quantizedTensors(model),
    ...(opts.generationConfig ? { generationConfig: opts.generationConfig } : {}),
    ...(opts.files ? { files: opts.files } : {}),
  });
}

type RawData = Float32Array | Uint16Array | Uint8Array;
interface RawTensor {
  dtype: SafetensorsDtype;
  shape: number[];
  data: RawData;
}

const RAW_DTYPES: Partial<Record<SafetensorsDtype, (bytes: Uint8Array) => RawData>> = {
  F32: (b) => new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4),
  F16: (b) => new Uint16Array(b.buffer, b.byteOffset, b.byteLength / 2),
  U8: (b) => b,
};

/** Each tensor in its own buffer, as stored (F32, F16 bits, U8; other dtypes are not part of the format). */
async function readRawTensors(path: string): Promise<Map<string, RawTensor>> {
  const header = await readSafetensorsHeader(path);
  const out = new Map<string, RawTensor>();
  const fh = await fsp.open(path, 'r');
  try {
    for (const [name, info] of header.tensors) {
      const decode = RAW_DTYPES[info.dtype];
      if (!decode) throw new QuantizedCheckpointError(name, `${path}: tensor '${name}' is ${info.dtype}; a quantized checkpoint holds F32, F16 and U8 tensors only`);
      const [begin, end] = info.dataOffsets;
      const bytes = new Uint8Array(end - begin);
      const { bytesRead } = await fh.read(bytes, 0, bytes.length, header.dataStart + begin);
      if (bytesRead !== bytes.length) throw new QuantizedCheckpointError(name, `${path}: tensor '${name}' is cut short (${bytesRead} of ${bytes.length} bytes)`);
      out.set(name, { dtype: info.dtype, shape: info.shape, data: decode(bytes) });
    }
  } finally {
    await fh.close();
  }
  return out;
}

const sameDims = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((d, i) => d === b[i]);

/** NaN or ±Inf count (x − x is 0 exactly when x is finite). */
function nonFinite(data: Float32Array): number {
  let n = 0;
  for (let i = 0; i < data.length; i++) if (data[i]! - data[i]! !== 0) n++;
  return n;
}

/**
 * Load the quantized checkpoint in `dir` (config.json already read, with its
 * `quantization_config`). Every tensor the config implies is checked for
 * presence, dtype and shape, naming it; leftovers are refused.
 */
export async function loadQuantizedModel(dir: string, json: ConfigJson, config: QuantizationConfig, opts: QuantizedModelOptions = {}): Promise<QuantizedModel> {
  const path = join(dir, WEIGHTS_FILE);
  const arch = configArchitecture(json, join(dir, 'config.json'));
  const chosen = quantizedLinears(arch, config);
  const raw = await readRawTensors(path);
  const take = <D extends RawData>(name: string, dtype: 'F32' | 'F16' | 'U8', shape: readonly number[], what: string): D => {
    const t = raw.get(name);
    if (!t) throw new QuantizedCheckpointError(name, `${path}: no tensor '${name}' (${what}: ${dtype} ${formatShape(shape)}, as quantization_config says)`);
    if (t.dtype !== dtype || !sameDims(t.shape, shape)) {
      throw new QuantizedCheckpointError(name, `${path}: tensor '${name}' is ${t.dtype} ${formatShape(t.shape)}, expected ${dtype} ${formatShape(shape)} (${what})`);
    }
    raw.delete(name);
    return t.data as D;
  };
  const spec = { bits: config.bits, group: config.group_size, symmetric: config.sym };
  const matrix = (module: string, n: number, k: number): QuantizedMatrix => {
    const shapes = packedShapes(n, k, spec);
    const scales = take<Float32Array>(`${module}.scales`, 'F32', shapes.scales, `the scales of ${module}`);
    const bad = nonFinite(scales);
    if (bad) throw new NonFiniteWeightsError(dir, `${module}.scales`, bad, scales.length, 1);
    const q: QuantizedMatrix = { ...spec, n, k, data: take<Uint8Array>(`${module}.qweight`, 'U8', shapes.data, `the ${config.bits}-bit weight of ${module}`), scales };
    if (!config.sym) q.zeros = take<Uint8Array>(`${module}.qzeros`, 'U8', shapes.zeros, `the zero points of ${module}`);
    return q;
  };
  const linears = new Map<string, QuantizedMatrix>();
  for (const m of chosen) linears.set(m.module, matrix(m.module, m.n, m.k));

  const { module, tensor, vocab, hidden } = arch.embedding;
  let table: EmbeddingTable | undefined;
  if (config.embedding === 'float16') table = { kind: 'float16', bits: take<Uint16Array>(tensor, 'F16', [vocab, hidden], 'the float16 embedding'), shape: [vocab, hidden] };
  else if (config.embedding === 'quantized') table = { kind: 'quantized', matrix: arch.tied ? linears.get(HEAD)! : matrix(module, vocab, hidden) };

  const floats = new Map<string, CheckpointTensor>();
  for (const [name, t] of raw) {
    if (t.dtype !== 'F32') throw new QuantizedCheckpointError(name, `${path}: unexpected ${t.dtype} tensor '${name}' ${formatShape(t.shape)}; quantization_config does not use it`);
    const bad = nonFinite(t.data as Float32Array);
    if (bad) throw new NonFiniteWeightsError(dir, name, bad, t.data.length, 1);
    floats.set(name, { shape: t.shape, data: t.data as Float32Array });
  }
  const dropped = new Set(chosen.flatMap((m) => (m.tensor ? [m.tensor] : [])));
  if (table) dropped.add(tensor);
  const bound = bindWeights(path, arch.tensors.filter((t) => !dropped.has(t.name)), floats);
  return new QuantizedModel(arch.build(bound), arch, config, linears, table, opts);
}
