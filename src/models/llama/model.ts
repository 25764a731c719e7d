/**
 * Llama-family decoders (LlamaForCausalLM, Qwen2ForCausalLM, MistralForCausalLM),
 * nanoGPT style: config, checkpoint name map and forward pass in one file. The
 * three differ by config only: Qwen2 adds q/k/v biases, Mistral a sliding window.
 * HF stores nn.Linear weights [out, in]; Forja keeps them transposed, [in, out].
 */
import { currentGraph, type Tensor } from '../../core/graph.js';
import * as F from '../../core/ops/index.js';
import type { Rng } from '../../core/rng.js';
import { elementCount } from '../../core/shape.js';
import type { Variable } from '../../core/variable.js';
import { cachedAttention, splitHeads } from '../transformer/attention.js';
import { ConfigError, ConfigReader, type ConfigJson } from '../transformer/config.js';
import { decoderContext, selectPositions, type DecoderContext } from '../transformer/decoder.js';
import { ACTIVATIONS, gatedMlp, linear, rmsNorm, type Linear } from '../transformer/layers.js';
import { applyRope, ropeFrequencies, ropeTables, type RopeTables } from '../transformer/rope.js';
import type { CausalLmDims, CausalLmInputs, CausalLmModel, CausalLmOutputs, DropoutSite, KvPair } from '../transformer/types.js';
import { bindWeights, weightOf, type CheckpointTensor, type CheckpointWeights, type ExpectedTensor } from '../transformer/weights.js';

export const LLAMA_ARCHITECTURES = ['LlamaForCausalLM', 'Qwen2ForCausalLM', 'MistralForCausalLM'] as const;
export type LlamaArchitecture = (typeof LLAMA_ARCHITECTURES)[number];

export interface LlamaConfig {
  architecture: LlamaArchitecture;
  vocabSize: number;
  hiddenSize: number;
  intermediateSize: number;
  numLayers: number;
  numHeads: number;
  numKvHeads: number;
  headDim: number;
  rmsNormEps: number;
  maxPositions: number;
  /** RoPE inverse frequencies, [head_dim / 2]. */
  ropeFrequencies: Float32Array;
  hiddenAct: string;
  qkvBias: boolean;
  outputBias: boolean;
  mlpBias: boolean;
  tieWordEmbeddings: boolean;
  /** Std of the normal weight init. */
  initializerRange: number;
  slidingWindow?: number;
}

export function parseLlamaConfig(json: ConfigJson, architecture: LlamaArchitecture): LlamaConfig {
  const c = new ConfigReader(json, `${architecture} config.json`);
  const hiddenSize = c.int('hidden_size');
  const numHeads = c.int('num_attention_heads');
  const numKvHeads = c.int('num_key_value_heads', numHeads);
  if (numHeads % numKvHeads !== 0) {
    throw new ConfigError(`${c.where}: num_attention_heads ${numHeads} is not a multiple of num_key_value_heads ${numKvHeads}`);
  }
  const headDim = c.int('head_dim', hiddenSize / numHeads);
  c.require('hidden_act', Object.keys(ACTIVATIONS), 'silu');
  c.require('pretraining_tp', [1], 1);
  const attentionBias = c.bool('attention_bias', false);
  const config: LlamaConfig = {
    architecture,
    vocabSize: c.int('vocab_size'),
    hiddenSize,
    intermediateSize: c.int('intermediate_size'),
    numLayers: c.int('num_hidden_layers'),
    numHeads,
    numKvHeads,
    headDim,
    rmsNormEps: c.number('rms_norm_eps', 1e-6),
    maxPositions: c.int('max_position_embeddings'),
    ropeFrequencies: ropeFrequencies(c, headDim),
    hiddenAct: c.string('hidden_act', 'silu'),
    qkvBias: architecture === 'Qwen2ForCausalLM' || attentionBias,
    outputBias: architecture !== 'Qwen2ForCausalLM' && attentionBias,
    mlpBias: c.bool('mlp_bias', false),
    tieWordEmbeddings: c.bool('tie_word_embeddings', false),
    initializerRange: c.number('initializer_range', 0.02),
  };
  const window = slidingWindowOf(c, architecture);
  if (window !== undefined) config.slidingWindow = window;
  return config;
}

function slidingWindowOf(c: ConfigReader, architecture: LlamaArchitecture): number | undefined {
  if (!c.has('sliding_window')) return undefined;
  if (architecture === 'MistralForCausalLM') return c.int('sliding_window');
  if (architecture === 'Qwen2ForCausalLM' && c.bool('use_sliding_window', false)) {
    throw new ConfigError(`${c.where}: use_sliding_window = true is not supported`);
  }
  return undefined;
}

/** Every tensor a Llama-family checkpoint holds; nn.Linear weights are transposed on load. */
export function llamaTensors(c: LlamaConfig): ExpectedTensor[] {
  const d = c.hiddenSize;
  const linearTensors = (name: string, inDim: number, outDim: number, bias: boolean): ExpectedTensor[] => [
    { name: `${name}.weight`, shape: [outDim, inDim], transpose: true },
    ...(bias ? [{ name: `${name}.bias`, shape: [outDim] }] : []),
  ];
  const out: ExpectedTensor[] = [{ name: 'model.embed_tokens.weight', shape: [c.vocabSize, d] }];
  for (let i = 0; i < c.numLayers; i++) {
    const l = `model.layers.${i}.`;
    out.push(
      { name: `${l}input_layernorm.weight`, shape: [d] },
      ...linearTensors(`${l}self_attn.q_proj`, d, c.numHeads * c.headDim, c.qkvBias),
      ...linearTensors(`${l}self_attn.k_proj`, d, c.numKvHeads * c.headDim, c.qkvBias),
      ...linearTensors(`${l}self_attn.v_proj`, d, c.numKvHeads * c.headDim, c.qkvBias),
      ...linearTensors(`${l}self_attn.o_proj`, c.numHeads * c.headDim, d, c.outputBias),
      { name: `${l}post_attention_layernorm.weight`, shape: [d] },
      ...linearTensors(`${l}mlp.gate_proj`, d, c.intermediateSize, c.mlpBias),
      ...linearTensors(`${l}mlp.up_proj`, d, c.intermediateSize, c.mlpBias),
      ...linearTensors(`${l}mlp.down_proj`, c.intermediateSize, d, c.mlpBias),
    );
  }
  out.push({ name: 'model.norm.weight', shape: [d] });
  if (!c.tieWordEmbeddings) out.push(...linearTensors('lm_head', d, c.vocabSize, false));
  return out;
}

/** The shape of a Llama to train from scratch: the same knobs as GPT-2's. */
export interface LlamaShape {
  layers: number;
  heads: number;
  embd: number;
  /** Context length (max_position_embeddings). */
  blockSize: number;
  dropout: number;
}

/**
 * SwiGLU width: 8/3 of the model width, so its three matrices hold about the
 * parameters of GPT-2's two 4×-wide ones, rounded up to a multiple of 32.
 */
export function llamaIntermediateSize(embd: number): number {
  return 32 * Math.ceil((8 * embd) / 3 / 32);
}

/**
 * config.json of a LlamaForCausalLM to train from scratch: RMSNorm, SwiGLU,
 * RoPE with θ 10000, one key/value head per query head, no biases, and tied
 * embeddings (as GPT-2 here, and small Llamas such as Llama 3.2 1B).
 */
export function llamaConfigJson(shape: LlamaShape, vocabSize: number, special: { bos?: number | undefined; eos?: number | undefined } = {}): ConfigJson {
  return {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    vocab_size: vocabSize,
    hidden_size: shape.embd,
    intermediate_size: llamaIntermediateSize(shape.embd),
    num_hidden_layers: shape.layers,
    num_attention_heads: shape.heads,
    num_key_value_heads: shape.heads,
    head_dim: shape.embd / shape.heads,
    hidden_act: 'silu',
    max_position_embeddings: shape.blockSize,
    initializer_range: 0.02,
    rms_norm_eps: 1e-5,
    rope_theta: 10000,
    attention_bias: false,
    attention_dropout: shape.dropout,
    mlp_bias: false,
    pretraining_tp: 1,
    tie_word_embeddings: true,
    bos_token_id: special.bos ?? null,
    eos_token_id: special.eos ?? null,
    pad_token_id: null,
    use_cache: true,
    dtype: 'float32',
  };
}

/**
 * Fresh weights in checkpoint layout: N(0, initializer_range) matrices and
 * embeddings, unit RMSNorm gains. Unlike HF's Llama init, the residual
 * projections (o_proj, down_proj) are scaled by 1/√(2·layers) as GPT-2's are,
 * so the two architectures train from the same kind of start.
 */
export function llamaInitialWeights(c: LlamaConfig, rng: Rng): Map<string, CheckpointTensor> {
  const out = new Map<string, CheckpointTensor>();
  for (const { name, shape } of llamaTensors(c)) {
    const data = new Float32Array(elementCount(shape));
    if (/norm\.weight$/.test(name)) data.fill(1);
    else if (!name.endsWith('.bias')) {
      const std = /(o_proj|down_proj)\.weight$/.test(name) ? c.initializerRange / Math.sqrt(2 * c.numLayers) : c.initializerRange;
      for (let i = 0; i < data.length; i++) data[i] = std * rng.normal();
    }
    out.set(name, { shape, data });
  }
  return out;
}

/** Precomputed RoPE buffers older checkpoints carry, and a tied head some store anyway. */
function ignoredTensors(c: LlamaConfig): RegExp[] {
  return [/\.rotary_emb\.inv_freq$/, ...(c.tieWordEmbeddings ? [/^lm_head\.weight$/] : [])];
}

export class Llama implements CausalLmModel {
  readonly dims: CausalLmDims;

  constructor(
    readonly config: LlamaConfig,
    readonly weights: ReadonlyMap<string, Variable>,
  ) {
    this.dims = {
      layers: config.numLayers,
      heads: config.numHeads,
      kvHeads: config.numKvHeads,
      headDim: config.headDim,
      hidden: config.hiddenSize,
      vocabSize: config.vocabSize,
      maxPositions: config.maxPositions,
    };
  }

  get architecture(): string {
    return this.config.architecture;
  }

  /** A randomly initialised model, e.g. to train from scratch. */
  static init(config: LlamaConfig, rng: Rng): Llama {
    return new Llama(config, bindWeights(config.architecture, llamaTensors(config), llamaInitialWeights(config, rng)));
  }

  static fromCheckpoint(json: ConfigJson, weights: CheckpointWeights, architecture: LlamaArchitecture = 'LlamaForCausalLM'): Llama {
    const config = parseLlamaConfig(json, architecture);
    return new Llama(config, bindWeights(architecture, llamaTensors(config), weights, ignoredTensors(config)));
  }

  forward(inputs: CausalLmInputs): CausalLmOutputs {
    const c = this.config;
    const ctx = decoderContext(c.architecture, this.dims, inputs, c.slidingWindow);
    const rope = ropeTables(ctx.positionIds, c.ropeFrequencies); // (B or 1, T, 1, hs)
    const drop = (x: Tensor, site: DropoutSite) => (inputs.dropout ? inputs.dropout(x, site) : x);
    const act = ACTIVATIONS[c.hiddenAct]!;

    const tokens = inputs.overrides?.embedding('model.embed_tokens')?.(inputs.inputIds) ?? F.gather(this.param('model.embed_tokens.weight'), inputs.inputIds);
    let x = drop(tokens, 'embedding'); // (B, T, C)
    const present: KvPair[] = [];
    for (let i = 0; i < c.numLayers; i++) {
      currentGraph().scope(`layers.${i}`, () => {
        const l = `model.layers.${i}.`;
        const a = this.attention(l, this.rmsNorm(`${l}input_layernorm`, x), i, ctx, rope, inputs);
        present.push(a.present);
        x = F.add(x, drop(a.out, 'residual'));
        const h = this.rmsNorm(`${l}post_attention_layernorm`, x);
        const [gate, up, down] = ['gate_proj', 'up_proj', 'down_proj'].map((name) => this.linear(`${l}mlp.${name}`, c.mlpBias, inputs)) as [Linear, Linear, Linear];
        x = F.add(x, drop(gatedMlp(h, gate, up, down, act), 'residual'));
      });
    }
    x = this.rmsNorm('model.norm', selectPositions(x, inputs.logitsIndex)); // (B, K, C)
    const head = inputs.overrides?.linear('lm_head') ?? (c.tieWordEmbeddings ? F.transposeLast(this.param('model.embed_tokens.weight')) : this.param('lm_head.weight')); // (C, V)
    return { logits: linear(x, { weight: head, adapter: inputs.adapters?.('lm_head') }), present }; // (B, K, V)
  }

  private attention(l: string, x: Tensor, layer: number, ctx: DecoderContext, rope: RopeTables, inputs: CausalLmInputs) {
    const c = this.config;
    const project = (name: string, heads: number) => splitHeads(linear(x, this.linear(`${l}self_attn.${name}`, c.qkvBias, inputs)), heads, c.headDim);
    const q = applyRope(project('q_proj', c.numHeads), rope); // (B, T, nh, hs)
    const k = applyRope(project('k_proj', c.numKvHeads), rope); // (B, T, n_kv, hs)
    const v = project('v_proj', c.numKvHeads);
    const { out, present } = cachedAttention(
      { heads: c.numHeads, kvHeads: c.numKvHeads, headDim: c.headDim },
      { q, k, v, past: ctx.past[layer], bias: ctx.bias, scale: 1 / Math.sqrt(c.headDim), newPositionsOnly: ctx.newPositionsOnly, ...(inputs.dropout ? { dropout: inputs.dropout } : {}) },
    );
    return { out: linear(out, this.linear(`${l}self_attn.o_proj`, c.outputBias, inputs)), present };
  }

  private rmsNorm(name: string, x: Tensor): Tensor {
    return rmsNorm(x, this.param(`${name}.weight`), this.config.rmsNormEps);
  }

  private param(name: string): Tensor {
    return currentGraph().param(weightOf(this.weights, name));
  }

  private linear(name: string, bias: boolean, inputs: CausalLmInputs): Linear {
    return { weight: inputs.overrides?.linear(name) ?? this.param(`${name}.weight`), ...(bias ? { bias: this.param(`${name}.bias`) } : {}), adapter: inputs.adapters?.(name) };
  }
}
