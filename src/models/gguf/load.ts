/**
 * Loading a Llama-family GGUF file: config from its metadata, every tensor
 * renamed to the Llama spec's names (Q/K rows un-permuted for llama.cpp's
 * "llama" layout), quantized linear maps kept as MatMulNBits blocks, the rest
 * as float32. Tensors of a type outside DECODABLE_TYPES are refused by name.
 */
import { f32ToF16 } from '../../io/safetensors/floats.js';
import { DECODABLE_TYPES, dequantize } from '../../io/gguf/blocks.js';
import { GgufError, GgufTensorTypeError } from '../../io/gguf/errors.js';
import { GgufMetadata } from '../../io/gguf/metadata.js';
import { readGgufHeader, readTensorBytes, type GgufFile, type GgufTensorInfo } from '../../io/gguf/reader.js';
import { GgmlType, ggmlTypeName } from '../../io/gguf/types.js';
import { NonFiniteWeightsError, type JsonObject } from '../../io/hf-checkpoint.js';
import { Llama, llamaTensors, parseLlamaConfig, type LlamaConfig } from '../llama/model.js';
import { Tokenizer } from '../../text/tokenizer.js';
import { bindWeights, type CheckpointTensor } from '../transformer/weights.js';
import { ggufConfig } from './config.js';
import { EMBEDDING_MODULE, GgufModel, HEAD_MODULE, type GgufEmbedding, type GgufModelOptions } from './model.js';
import { mapToMatMulNBits, type MappedMatrix } from './quantized.js';
import { ggufTokenizerSource, ggufGenerationConfig } from './tokenizer.js';
import { ggufTensorName, hfTensorName, unpermuteRows } from './tensors.js';

export const GGUF_EXTENSION = '.gguf';
export const isGgufPath = (path: string): boolean => path.toLowerCase().endsWith(GGUF_EXTENSION);

export interface LoadedGguf {
  model: GgufModel;
  /** The file read (it stands where a checkpoint directory would). */
  dir: string;
  config: JsonObject;
  generationConfig: JsonObject;
}

const FLOAT_TYPES: readonly number[] = [GgmlType.F32, GgmlType.F16, GgmlType.BF16];
const supportedTypes = (): string => DECODABLE_TYPES.map(ggmlTypeName).join(', ');

function nonFinite(data: Float32Array): number {
  let n = 0;
  for (let i = 0; i < data.length; i++) if (data[i]! - data[i]! !== 0) n++;
  return n;
}

/** Q/K rows back in HF order (llama.cpp permuted them for its rotary layout). */
function inHfOrder(path: string, bytes: Uint8Array, t: GgufTensorInfo, heads: number): Uint8Array {
  const rows = t.dims.length === 2 ? t.dims[1]! : t.dims[0]!;
  // A bias's rows are single values, so it must be stored as plain floats to move them.
  if (t.dims.length === 1 && !FLOAT_TYPES.includes(t.type)) throw new GgufError(path, `1-D tensor '${t.name}' is ${t.typeName}; a Q/K bias must be F32, F16 or BF16`, undefined, t.name);
  if (rows % heads !== 0 || (rows / heads) % 2 !== 0) throw new GgufError(path, `tensor '${t.name}' has ${rows} rows, not ${heads} heads of an even size`, undefined, t.name);
  return unpermuteRows(bytes, rows, bytes.length / rows, heads);
}

/** Load the model in a GGUF file. */
export async function loadGgufModel(path: string, opts: GgufModelOptions = {}): Promise<LoadedGguf> {
  const file = await readGgufHeader(path);
  const meta = new GgufMetadata(file);
  const byName = new Map(file.tensors.map((t) => [t.name, t]));
  const cfg = ggufConfig(meta, byName);
  const config: LlamaConfig = parseLlamaConfig(cfg.json, cfg.architecture);
  const expected = new Map(llamaTensors(config).map((t) => [t.name, t]));

  const floats = new Map<string, CheckpointTensor>();
  const linears = new Map<string, MappedMatrix>();
  const tensorTypes = new Map<string, { type: string; loadedAs: string }>();
  let embedding: GgufEmbedding | undefined;
  for (const t of file.tensors) {
    if (!DECODABLE_TYPES.includes(t.type)) {
      throw new GgufTensorTypeError(path, t.name, t.typeName, `tensor '${t.name}' is ${t.typeName}, which this loader does not read (supported: ${supportedTypes()})`);
    }
    let bytes = await readTensorBytes(file, t);
    if (t.name === 'rope_freqs.weight') {
      config.ropeFrequencies = ropeWithFactors(file, t, bytes, config);
      tensorTypes.set(t.name, { type: t.typeName, loadedAs: 'RoPE frequency factors' });
      continue;
    }
    const hf = hfTensorName(t.name, path);
    const want = expected.get(hf);
    const shape = [...t.dims].reverse();
    if (!want) throw new GgufError(path, `tensor '${t.name}' (${hf}) is not part of this ${cfg.architecture} configuration`, undefined, t.name);
    if (want.shape.length !== shape.length || want.shape.some((d, i) => d !== shape[i])) {
      throw new GgufError(path, `tensor '${t.name}' is [${t.dims.join(', ')}] (ggml order), expected [${[...want.shape].reverse().join(', ')}] for this configuration`, undefined, t.name);
    }
    if (cfg.permutedQk && /\.(q_proj|k_proj)\./.test(hf)) bytes = inHfOrder(path, bytes, t, hf.includes('q_proj') ? cfg.heads : cfg.kvHeads);
    const module = hf.slice(0, hf.lastIndexOf('.'));
    const matrix = shape.length === 2 && !FLOAT_TYPES.includes(t.type);
    const mapped = matrix ? mapToMatMulNBits(t.type, bytes, shape[0]!, shape[1]!) : undefined;
    if (mapped) checkFinite(path, t.name, mapped.scales);
    if (mapped && module !== EMBEDDING_MODULE) {
      linears.set(module, mapped);
      tensorTypes.set(t.name, { type: t.typeName, loadedAs: `MatMulNBits ${mapped.bits}-bit, block ${mapped.group}` });
      continue;
    }
    // Plain floats, and quantized blocks with no MatMulNBits form (a block of equal non-zero values), in float32.
    const data = dequantize(t.type, bytes, t.elements)!;
    if (module === EMBEDDING_MODULE && mapped) {
      if (config.tieWordEmbeddings) linears.set(HEAD_MODULE, mapped);
      // GatherBlockQuantized takes integer zero points only: fractional ones gather from a float16 table.
      embedding = mapped.zeros ? { kind: 'float16', bits: f32ToF16(data), shape: [shape[0]!, shape[1]!] } : { kind: 'mapped', matrix: mapped };
      tensorTypes.set(t.name, { type: t.typeName, loadedAs: embedding.kind === 'mapped' ? `GatherBlockQuantized ${mapped.bits}-bit` : 'float16 table' });
      continue;
    }
    checkFinite(path, t.name, data);
    floats.set(hf, { shape, data });
    tensorTypes.set(t.name, { type: t.typeName, loadedAs: matrix ? 'float32 (dequantized: no MatMulNBits form)' : 'float32' });
  }
  const missing = [...expected.keys()].filter((n) => !floats.has(n) && !linears.has(n.slice(0, n.lastIndexOf('.'))) && !(n === 'model.embed_tokens.weight' && embedding));
  if (missing.length) throw new GgufError(path, `no tensor '${ggufTensorName(missing[0]!)}' (${missing[0]}${missing.length > 1 ? ` and ${missing.length - 1} more` : ''})`, undefined, ggufTensorName(missing[0]!));
  const base = new Llama(config, bindWeights(path, [...expected.values()].filter((t) => floats.has(t.name)), floats));
  const model = new GgufModel(base, linears, embedding, tensorTypes, opts);
  return { model, dir: path, config: cfg.json, generationConfig: ggufGenerationConfig(meta) };
}

function checkFinite(path: string, tensor: string, data: Float32Array): void {
  const bad = nonFinite(data);
  if (bad) throw new NonFiniteWeightsError(path, tensor, bad, data.length, 1);
}

/** Llama 3.1's per-frequency divisors (llama.cpp's rope_freqs.weight) applied to the base frequencies. */
function ropeWithFactors(file: GgufFile, t: GgufTensorInfo, bytes: Uint8Array, config: LlamaConfig): Float32Array {
  const factors = dequantize(t.type, bytes, t.elements)!;
  if (factors.length !== config.ropeFrequencies.length) {
    throw new GgufError(file.path, `tensor '${t.name}' holds ${factors.length} factors, expected head_dim / 2 = ${config.ropeFrequencies.length}`, undefined, t.name);
  }
  return config.ropeFrequencies.map((f, i) => f / factors[i]!);
}

/** The tokenizer embedded in a GGUF file. */
export async function loadGgufTokenizer(path: string): Promise<Tokenizer> {
  return new Tokenizer(ggufTokenizerSource(new GgufMetadata(await readGgufHeader(path))));
}
