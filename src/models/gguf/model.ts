/**
 * A Llama-family model over a GGUF file's weights: the base model holds the
 * float tensors (norms, biases, and any weight stored as or dequantized to
 * float), and each linear map whose blocks map onto MatMulNBits reaches the
 * graph through ModuleOverrides, as quantize/ does for Forja's own
 * checkpoints. The token embedding is gathered from the same uint8 data when
 * its blocks are symmetric (GatherBlockQuantized takes integer zero points
 * only), else from a float16 table.
 */
import type { Graph, Tensor } from '../../core/graph.js';
import * as F from '../../core/ops/index.js';
import type { EmbeddingLookup, LinearProduct, ModuleOverrides } from '../transformer/layers.js';
import { OverriddenModel } from '../transformer/overridden-model.js';
import type { CausalLmModel } from '../transformer/types.js';
import type { MappedMatrix } from './quantized.js';

export const EMBEDDING_MODULE = 'model.embed_tokens';
export const HEAD_MODULE = 'lm_head';

/** How the gather reads the token embedding when it is not a float32 weight of the base. */
export type GgufEmbedding = { kind: 'float16'; bits: Uint16Array; shape: [number, number] } | { kind: 'mapped'; matrix: MappedMatrix };

export interface GgufModelOptions {
  /** MatMulNBits' accuracy_level (default 4: int8 compute, the fast CPU kernel). */
  accuracyLevel?: number;
}

export class GgufModel extends OverriddenModel {
  readonly accuracyLevel: number;

  constructor(
    base: CausalLmModel,
    /** Quantized linear maps by HF module name, the head as "lm_head". */
    readonly linears: ReadonlyMap<string, MappedMatrix>,
    readonly embedding: GgufEmbedding | undefined,
    /** Each GGUF tensor's type and what loading made of it ("MatMulNBits", "float32", ...). */
    readonly tensorTypes: ReadonlyMap<string, { type: string; loadedAs: string }>,
    options: GgufModelOptions = {},
  ) {
    super(base);
    this.accuracyLevel = options.accuracyLevel ?? 4;
  }

  /** The graph hooks; each array becomes one initializer per graph, shared by its users (a tied head and its gather). */
  overrides(graph: Graph): ModuleOverrides {
    const constant = (name: string, data: Uint8Array | Float32Array | Uint16Array, shape: number[]): Tensor => this.constant(graph, name, data, shape);
    const owner = (m: MappedMatrix): string => [...this.linears].find(([, v]) => v === m)?.[0] ?? EMBEDDING_MODULE;
    const packed = (m: MappedMatrix) => {
      const name = owner(m);
      const blocks = m.k / m.group;
      return { name, blocks, data: constant(`${name}.qweight`, m.data, [m.n, blocks, (m.group * m.bits) / 8]) };
    };
    const linear = (module: string): LinearProduct | undefined => {
      const m = this.linears.get(module);
      if (!m) return undefined;
      return (x) => {
        const { name, blocks, data } = packed(m);
        const zeros = m.zeros && constant(`${name}.qzeros`, m.zeros, [m.n, blocks]);
        return F.matmulNBits(x, { data, scales: constant(`${name}.scales`, m.scales, [m.n, blocks]), zeros, bits: m.bits, block: m.group }, this.accuracyLevel);
      };
    };
    const embedding = (module: string): EmbeddingLookup | undefined => {
      const e = this.embedding;
      if (module !== EMBEDDING_MODULE || !e) return undefined;
      if (e.kind === 'float16') return (ids) => F.cast(F.gather(constant(`${module}.weight`, e.bits, e.shape), ids), 'float32');
      const m = e.matrix;
      return (ids) => {
        const { name, blocks, data } = packed(m);
        const scales = constant(`${name}.scales.gather`, m.scales, [m.n, blocks, 1]);
        return F.gatherBlockQuantized({ data, scales, bits: m.bits, block: m.group }, ids);
      };
    };
    return { linear, embedding };
  }
}
