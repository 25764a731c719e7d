/**
 * A causal LM whose linear maps run on quantized weights: the base model is
 * built over the float weights that are left (norms, biases, position
 * embeddings, and the input embedding unless it is stored otherwise), and
 * each quantized module reaches its graph through ModuleOverrides, as a
 * MatMulNBits over uint8 initializers. The float weights of quantized
 * modules are never part of it.
 *
 * The head and the embedding gather are separate choices. A tied model
 * (GPT-2: wte is 38.6M of 124M parameters) gets a quantized copy of the
 * table for its head (`lm_head`), and keeps its gather in float32, in float16
 * (Gather + Cast), or on the head's copy (GatherBlockQuantized over the same
 * uint8 initializer, so the table is stored once).
 */
import type { Graph, Tensor } from '../../core/graph.js';
import * as F from '../../core/ops/index.js';
import type { BlockQuantized, BlockQuantizedTable } from '../../core/ops/quantized.js';
import { f32ToF16 } from '../../io/safetensors/floats.js';
import type { EmbeddingLookup, LinearProduct, ModuleOverrides } from '../transformer/layers.js';
import { OverriddenModel } from '../transformer/overridden-model.js';
import type { CausalLmModel } from '../transformer/types.js';
import { transpose2d, weightOf } from '../transformer/weights.js';
import { HEAD, modelArchitecture, type LinearMap, type QuantArchitecture } from './architecture.js';
import { GROUP_SIZES, GroupSizeError, keptFloat, QUANTIZATION_DEFAULTS, quantizationConfig, QuantizeSettingError, type QuantizationConfig, type QuantizationOptions } from './config.js';
import { quantizedBytes, quantizeRows, unpackedZeros, type QuantizedMatrix } from './pack.js';

/** The input embedding, when it is not a float32 Variable of the base. */
export type EmbeddingTable = { kind: 'float16'; bits: Uint16Array; shape: [number, number] } | { kind: 'quantized'; matrix: QuantizedMatrix };

export interface QuantizedModelOptions {
  /** MatMulNBits' accuracy_level (default 4: int8 compute, the only fast CPU kernel for 8-bit weights). */
  accuracyLevel?: number;
}

export class QuantizedModel extends OverriddenModel {
  readonly accuracyLevel: number;

  constructor(
    base: CausalLmModel,
    readonly arch: QuantArchitecture,
    readonly config: QuantizationConfig,
    /** Quantized linear maps by module name, the head under "lm_head". */
    readonly linears: ReadonlyMap<string, QuantizedMatrix>,
    readonly embeddingTable?: EmbeddingTable,
    options: QuantizedModelOptions = {},
  ) {
    super(base);
    this.accuracyLevel = options.accuracyLevel ?? 4;
  }

  /** Bytes of every weight: float32 Variables, quantized tensors, a float16 table. */
  get weightBytes(): number {
    let n = [...this.base.weights.values()].reduce((s, v) => s + v.value.byteLength, 0);
    for (const q of this.linears.values()) n += quantizedBytes(q);
    const t = this.embeddingTable;
    if (t) n += t.kind === 'float16' ? t.bits.byteLength : quantizedBytes(t.matrix);
    return n;
  }

  /** The graph hooks; each uint8/float tensor becomes one initializer per graph, shared by its users. */
  overrides(graph: Graph): ModuleOverrides {
    const constant = (name: string, data: Uint8Array | Float32Array | Uint16Array, shape: number[]): Tensor => this.constant(graph, name, data, shape);
    const packed = (module: string, q: QuantizedMatrix): BlockQuantized => {
      const blocks = q.k / q.group;
      return {
        data: constant(`${module}.qweight`, q.data, [q.n, blocks, (q.group * q.bits) / 8]),
        scales: constant(`${module}.scales`, q.scales, [q.n, blocks]),
        zeros: q.zeros && constant(`${module}.qzeros`, q.zeros, [q.n, q.zeros.length / q.n]),
        bits: q.bits,
        block: q.group,
      };
    };
    const linear = (module: string): LinearProduct | undefined => {
      const q = this.linears.get(module);
      return q && ((x) => F.matmulNBits(x, packed(module, q), this.accuracyLevel));
    };
    const embedding = (module: string): EmbeddingLookup | undefined => {
      const t = this.embeddingTable;
      if (module !== this.arch.embedding.module || !t) return undefined;
      if (t.kind === 'float16') return (ids) => F.cast(F.gather(constant(`${module}.weight`, t.bits, t.shape), ids), 'float32');
      // A tied table is the head's copy: the gather reads the same uint8 initializer.
      const owner = this.linears.get(HEAD) === t.matrix ? HEAD : module;
      return (ids) => F.gatherBlockQuantized(tableOf(owner, t.matrix), ids);
    };
    const tableOf = (module: string, q: QuantizedMatrix): BlockQuantizedTable => {
      const blocks = q.k / q.group;
      const zeros = q.bits === 8 ? q.zeros : unpackedZeros(q);
      return {
        data: packed(module, q).data,
        scales: constant(`${module}.scales.gather`, q.scales, [q.n, blocks, 1]),
        zeros: zeros && constant(`${module}.qzeros.gather`, zeros, [q.n, blocks, 1]),
        bits: q.bits,
        block: q.group,
      };
    };
    return { linear, embedding };
  }
}

/** A tied model whose head stays float keeps its table in float32 unless told otherwise (the head reads it whole). */
function withEmbeddingDefault(arch: QuantArchitecture, options: QuantizationOptions): QuantizationOptions {
  if (options.embedding !== undefined || !arch.tied || (options.lm_head ?? QUANTIZATION_DEFAULTS.lm_head)) return options;
  return { ...options, embedding: 'float32' };
}

/** The linear maps `config` quantizes, each checked against the group size. */
export function quantizedLinears(arch: QuantArchitecture, config: QuantizationConfig): LinearMap[] {
  const chosen = arch.linears.filter((m) => !keptFloat(config, m.module) && (m.module !== HEAD || config.lm_head));
  for (const m of chosen) if (m.k % config.group_size !== 0) throw new GroupSizeError(m.module, m.k, config.group_size);
  if (config.embedding === 'quantized' && arch.embedding.hidden % config.group_size !== 0) {
    throw new GroupSizeError(arch.embedding.module, arch.embedding.hidden, config.group_size);
  }
  if (arch.tied && config.embedding !== 'float32' && !chosen.some((m) => m.module === HEAD)) {
    throw new QuantizeSettingError('embedding', `embedding "${config.embedding}" needs lm_head quantized in a tied model: its head is the embedding table`);
  }
  return chosen;
}

/**
 * `preferred` if it divides the input size of every map `options` would
 * quantize, else the largest group size that does (the group size when none
 * is given, so small models quantize too); undefined if none does.
 */
export function fittingGroupSize(model: CausalLmModel, options: QuantizationOptions, preferred: number = QUANTIZATION_DEFAULTS.group_size): number | undefined {
  const arch = modelArchitecture(model);
  const config = quantizationConfig(withEmbeddingDefault(arch, { ...options, group_size: preferred }));
  const sizes = arch.linears.filter((m) => !keptFloat(config, m.module) && (m.module !== HEAD || config.lm_head)).map((m) => m.k);
  if (config.embedding === 'quantized') sizes.push(arch.embedding.hidden);
  const fits = (g: number) => sizes.every((k) => k % g === 0);
  return fits(preferred) ? preferred : [...GROUP_SIZES].reverse().find(fits);
}

/**
 * Quantize a loaded float model (without `group_size`: the default, or the
 * largest that fits, see fittingGroupSize). The result shares the float model's
 * remaining Variables; the float weights of quantized modules are not
 * referenced by it, so they are freed with the float model.
 */
export function quantizeModel(model: CausalLmModel, options: QuantizationOptions, opts: QuantizedModelOptions = {}): QuantizedModel {
  const arch = modelArchitecture(model);
  const group = options.group_size ?? fittingGroupSize(model, options);
  const config = quantizationConfig(withEmbeddingDefault(arch, group === undefined ? options : { ...options, group_size: group }));
  const chosen = quantizedLinears(arch, config);
  const spec = { bits: config.bits, group: config.group_size, symmetric: config.sym };
  const table = weightOf(model.weights, arch.embedding.tensor);
  const linears = new Map<string, QuantizedMatrix>();
  for (const m of chosen) {
    // Forja keeps linear weights [in, out]; MatMulNBits wants rows of output features. A tied head's rows are the table's.
    const rows = m.tensor ? transpose2d(weightOf(model.weights, m.tensor).value, m.k, m.n) : table.value;
    linears.set(m.module, quantizeRows(rows, m.n, m.k, spec));
  }
  const { vocab, hidden } = arch.embedding;
  let embeddingTable: EmbeddingTable | undefined;
  if (config.embedding === 'float16') embeddingTable = { kind: 'float16', bits: f32ToF16(table.value), shape: [vocab, hidden] };
  else if (config.embedding === 'quantized') {
    embeddingTable = { kind: 'quantized', matrix: arch.tied ? linears.get(HEAD)! : quantizeRows(table.value, vocab, hidden, spec) };
  }
  const dropped = new Set(chosen.flatMap((m) => (m.tensor ? [m.tensor] : [])));
  if (embeddingTable) dropped.add(arch.embedding.tensor);
  const floats = new Map([...model.weights].filter(([name]) => !dropped.has(name)));
  return new QuantizedModel(arch.build(floats), arch, config, linears, embeddingTable, opts);
}
