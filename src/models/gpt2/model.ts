/**
 * GPT-2 (GPT2LMHeadModel), nanoGPT style: config, checkpoint name map, and the
 * forward pass in one file. HF's Conv1D stores weights [in, out], which is
 * already the x @ W layout, so no GPT-2 weight is transposed.
 */
import { currentGraph, type Tensor } from '../../core/graph.js';
import * as F from '../../core/ops/index.js';
import { elementCount } from '../../core/shape.js';
import type { Rng } from '../../core/rng.js';
import type { Variable } from '../../core/variable.js';
import { cachedAttention, splitHeads } from '../transformer/attention.js';
import { keyValueHeads, unmaskedAttention } from '../transformer/cross-attention.js';
import { ConfigReader, type ConfigJson } from '../transformer/config.js';
import { decoderContext, selectPositions, type DecoderContext } from '../transformer/decoder.js';
import { ACTIVATIONS, linear, mlp, type Linear } from '../transformer/layers.js';
import type { CausalLmDims, CausalLmInputs, CausalLmModel, CausalLmOutputs, DropoutSite, KvPair } from '../transformer/types.js';
import { bindWeights, weightOf, type CheckpointTensor, type CheckpointWeights, type ExpectedTensor } from '../transformer/weights.js';

export const GPT2_ARCHITECTURE = 'GPT2LMHeadModel';

export interface Gpt2Config {
  vocabSize: number;
  nPositions: number;
  nEmbd: number;
  nLayer: number;
  nHead: number;
  /** MLP width; HF's null means 4·n_embd. */
  nInner: number;
  layerNormEpsilon: number;
  activation: string;
  scaleAttnWeights: boolean;
  scaleAttnByInverseLayerIdx: boolean;
  tieWordEmbeddings: boolean;
  /** Cross-attention after each self-attention (the decoder of an encoder-decoder). */
  addCrossAttention: boolean;
  /** Std of the normal weight init. */
  initializerRange: number;
}

export function parseGpt2Config(json: ConfigJson): Gpt2Config {
  const c = new ConfigReader(json, `${GPT2_ARCHITECTURE} config.json`);
  const nEmbd = c.int('n_embd');
  const nHead = c.int('n_head');
  if (nEmbd % nHead !== 0) throw new Error(`${c.where}: n_embd ${nEmbd} is not divisible by n_head ${nHead}`);
  c.require('activation_function', Object.keys(ACTIVATIONS), 'gelu_new');
  return {
    vocabSize: c.int('vocab_size'),
    nPositions: c.int('n_positions'),
    nEmbd,
    nLayer: c.int('n_layer'),
    nHead,
    nInner: c.int('n_inner', 4 * nEmbd),
    layerNormEpsilon: c.number('layer_norm_epsilon', 1e-5),
    activation: c.string('activation_function', 'gelu_new'),
    scaleAttnWeights: c.bool('scale_attn_weights', true),
    scaleAttnByInverseLayerIdx: c.bool('scale_attn_by_inverse_layer_idx', false),
    tieWordEmbeddings: c.bool('tie_word_embeddings', true),
    addCrossAttention: c.bool('add_cross_attention', false),
    initializerRange: c.number('initializer_range', 0.02),
  };
}

const PREFIX = 'transformer.';

/** Every tensor a GPT-2 checkpoint holds, under the transformers-5 names (with `transformer.`). */
export function gpt2Tensors(c: Gpt2Config): ExpectedTensor[] {
  const d = c.nEmbd;
  const out: ExpectedTensor[] = [
    { name: `${PREFIX}wte.weight`, shape: [c.vocabSize, d] },
    { name: `${PREFIX}wpe.weight`, shape: [c.nPositions, d] },
  ];
  for (let i = 0; i < c.nLayer; i++) {
    const h = `${PREFIX}h.${i}.`;
    out.push(
      { name: `${h}ln_1.weight`, shape: [d] },
      { name: `${h}ln_1.bias`, shape: [d] },
      { name: `${h}attn.c_attn.weight`, shape: [d, 3 * d] },
      { name: `${h}attn.c_attn.bias`, shape: [3 * d] },
      { name: `${h}attn.c_proj.weight`, shape: [d, d] },
      { name: `${h}attn.c_proj.bias`, shape: [d] },
      { name: `${h}ln_2.weight`, shape: [d] },
      { name: `${h}ln_2.bias`, shape: [d] },
      { name: `${h}mlp.c_fc.weight`, shape: [d, c.nInner] },
      { name: `${h}mlp.c_fc.bias`, shape: [c.nInner] },
      { name: `${h}mlp.c_proj.weight`, shape: [c.nInner, d] },
      { name: `${h}mlp.c_proj.bias`, shape: [d] },
    );
    if (c.addCrossAttention) {
      out.push(
        { name: `${h}ln_cross_attn.weight`, shape: [d] },
        { name: `${h}ln_cross_attn.bias`, shape: [d] },
        { name: `${h}crossattention.q_attn.weight`, shape: [d, d] },
        { name: `${h}crossattention.q_attn.bias`, shape: [d] },
        { name: `${h}crossattention.c_attn.weight`, shape: [d, 2 * d] },
        { name: `${h}crossattention.c_attn.bias`, shape: [2 * d] },
        { name: `${h}crossattention.c_proj.weight`, shape: [d, d] },
        { name: `${h}crossattention.c_proj.bias`, shape: [d] },
      );
    }
  }
  out.push({ name: `${PREFIX}ln_f.weight`, shape: [d] }, { name: `${PREFIX}ln_f.bias`, shape: [d] });
  // nn.Linear [vocab, n_embd], kept as [n_embd, vocab].
  if (!c.tieWordEmbeddings) out.push({ name: 'lm_head.weight', shape: [c.vocabSize, d], transpose: true });
  return out;
}

/**
 * Fresh weights in checkpoint layout, initialised as HF's GPT2PreTrainedModel:
 * N(0, initializer_range) matrices and embeddings (residual projections scaled
 * by 1/√(2·n_layer)), unit LayerNorm gains, zero biases.
 */
export function gpt2InitialWeights(c: Gpt2Config, rng: Rng): Map<string, CheckpointTensor> {
  const out = new Map<string, CheckpointTensor>();
  for (const { name, shape } of gpt2Tensors(c)) {
    const data = new Float32Array(elementCount(shape));
    if (/ln_(1|2|f|cross_attn)\.weight$/.test(name)) data.fill(1);
    else if (!name.endsWith('.bias')) {
      const std = name.endsWith('c_proj.weight') ? c.initializerRange / Math.sqrt(2 * c.nLayer) : c.initializerRange;
      for (let i = 0; i < data.length; i++) data[i] = std * rng.normal();
    }
    out.set(name, { shape, data });
  }
  return out;
}

/** The shape of a GPT-2 to train from scratch. */
export interface Gpt2Shape {
  layers: number;
  heads: number;
  embd: number;
  /** Context length (n_positions). */
  blockSize: number;
  /** Dropout at the embedding, attention and residual sites. */
  dropout: number;
}

/** config.json of a GPT2LMHeadModel as transformers writes it (tied embeddings, gelu_new). */
export function gpt2ConfigJson(shape: Gpt2Shape, vocabSize: number, special: { bos?: number | undefined; eos?: number | undefined } = {}): ConfigJson {
  return {
    architectures: [GPT2_ARCHITECTURE],
    model_type: 'gpt2',
    vocab_size: vocabSize,
    n_positions: shape.blockSize,
    n_embd: shape.embd,
    n_layer: shape.layers,
    n_head: shape.heads,
    n_inner: null,
    activation_function: 'gelu_new',
    resid_pdrop: shape.dropout,
    embd_pdrop: shape.dropout,
    attn_pdrop: shape.dropout,
    layer_norm_epsilon: 1e-5,
    initializer_range: 0.02,
    scale_attn_weights: true,
    scale_attn_by_inverse_layer_idx: false,
    reorder_and_upcast_attn: false,
    add_cross_attention: false,
    tie_word_embeddings: true,
    bos_token_id: special.bos ?? null,
    eos_token_id: special.eos ?? null,
    pad_token_id: null,
    use_cache: true,
    dtype: 'float32',
  };
}

/** The hub's original gpt2 files have no `transformer.` prefix; transformers 5 adds it. */
export function withTransformerPrefix(weights: CheckpointWeights): Map<string, CheckpointTensor> {
  const out = new Map<string, CheckpointTensor>();
  for (const [name, t] of weights) out.set(name.startsWith(PREFIX) || name.startsWith('lm_head.') ? name : PREFIX + name, t);
  return out;
}

/** Causal-mask buffers old checkpoints carry, and a tied head some checkpoints store anyway. */
function ignoredTensors(c: Gpt2Config): RegExp[] {
  return [/\.attn\.(masked_)?bias$/, ...(c.tieWordEmbeddings ? [/^lm_head\.weight$/] : [])];
}

export class Gpt2 implements CausalLmModel {
  readonly architecture = GPT2_ARCHITECTURE;
  readonly dims: CausalLmDims;

  constructor(
    readonly config: Gpt2Config,
    /** By transformers-5 checkpoint name. */
    readonly weights: ReadonlyMap<string, Variable>,
  ) {
    this.dims = {
      layers: config.nLayer,
      heads: config.nHead,
      kvHeads: config.nHead,
      headDim: config.nEmbd / config.nHead,
      hidden: config.nEmbd,
      vocabSize: config.vocabSize,
      maxPositions: config.nPositions,
    };
  }

  /** A randomly initialised model, e.g. to train from scratch. */
  static init(config: Gpt2Config, rng: Rng): Gpt2 {
    return new Gpt2(config, bindWeights(GPT2_ARCHITECTURE, gpt2Tensors(config), gpt2InitialWeights(config, rng)));
  }

  /** Bind a checkpoint's tensors (either naming) after checking every name and shape. */
  static fromCheckpoint(json: ConfigJson, weights: CheckpointWeights): Gpt2 {
    const config = parseGpt2Config(json);
    const bound = bindWeights(GPT2_ARCHITECTURE, gpt2Tensors(config), withTransformerPrefix(weights), ignoredTensors(config));
    return new Gpt2(config, bound);
  }

  forward(inputs: CausalLmInputs): CausalLmOutputs {
    const c = this.config;
    const ctx = decoderContext(GPT2_ARCHITECTURE, this.dims, inputs);
    const drop = (x: Tensor, site: DropoutSite) => (inputs.dropout ? inputs.dropout(x, site) : x);
    const act = ACTIVATIONS[c.activation]!;
    const cross = inputs.cross;
    if (cross && !c.addCrossAttention) throw new Error(`${GPT2_ARCHITECTURE}: cross-attention inputs were given but the config has no add_cross_attention`);
    if (cross && cross.length !== c.nLayer) throw new Error(`${GPT2_ARCHITECTURE}: expected cross-attention keys and values for each of the ${c.nLayer} layers, received ${cross.length}`);

    const tokens = inputs.overrides?.embedding(`${PREFIX}wte`)?.(inputs.inputIds) ?? F.gather(this.param(`${PREFIX}wte.weight`), inputs.inputIds); // (B, T, C)
    const positions = F.gather(this.param(`${PREFIX}wpe.weight`), ctx.positionIds); // (B or 1, T, C)
    let x = drop(F.add(positions, tokens), 'embedding');
    const present: KvPair[] = [];
    for (let i = 0; i < c.nLayer; i++) {
      currentGraph().scope(`h.${i}`, () => {
        const h = `${PREFIX}h.${i}.`;
        const a = this.attention(h, this.layerNorm(`${h}ln_1`, x), i, ctx, inputs);
        present.push(a.present);
        x = F.add(x, drop(a.out, 'residual'));
        if (cross) x = F.add(x, drop(this.crossAttention(h, this.layerNorm(`${h}ln_cross_attn`, x), i, cross[i]!, inputs), 'residual'));
        x = F.add(x, drop(mlp(this.layerNorm(`${h}ln_2`, x), this.linear(`${h}mlp.c_fc`, inputs), this.linear(`${h}mlp.c_proj`, inputs), act), 'residual'));
      });
    }
    x = this.layerNorm(`${PREFIX}ln_f`, selectPositions(x, inputs.logitsIndex)); // (B, K, C)
    const head = inputs.overrides?.linear('lm_head') ?? (c.tieWordEmbeddings ? F.transposeLast(this.param(`${PREFIX}wte.weight`)) : this.param('lm_head.weight')); // (C, V)
    return { logits: linear(x, { weight: head, adapter: inputs.adapters?.('lm_head') }), present }; // (B, K, V)
  }

  private attention(h: string, x: Tensor, layer: number, ctx: DecoderContext, inputs: CausalLmInputs) {
    const { nHead, nEmbd, scaleAttnWeights, scaleAttnByInverseLayerIdx } = this.config;
    const hs = nEmbd / nHead;
    const qkv = F.splitEqual(linear(x, this.linear(`${h}attn.c_attn`, inputs)), 3, -1); // 3 × (B, T, C)
    const [q, k, v] = qkv.map((t) => splitHeads(t, nHead, hs)) as [Tensor, Tensor, Tensor]; // (B, T, nh, hs)
    const scale = (scaleAttnWeights ? 1 / Math.sqrt(hs) : 1) / (scaleAttnByInverseLayerIdx ? layer + 1 : 1);
    const { out, present } = cachedAttention(
      { heads: nHead, kvHeads: nHead, headDim: hs },
      { q, k, v, past: ctx.past[layer], bias: ctx.bias, scale, newPositionsOnly: ctx.newPositionsOnly, ...(inputs.dropout ? { dropout: inputs.dropout } : {}) },
    );
    return { out: linear(out, this.linear(`${h}attn.c_proj`, inputs)), present };
  }

  /** Each layer's cross-attention K/V (B, nh, S, hs) over encoder states (B, S, n_embd), computed once per input. */
  crossKeyValues(encoderHidden: Tensor): KvPair[] {
    const { nLayer, nHead, nEmbd } = this.config;
    return Array.from({ length: nLayer }, (_, i) => {
      const [k, v] = F.splitEqual(linear(encoderHidden, this.linear(`${PREFIX}h.${i}.crossattention.c_attn`)), 2, -1) as [Tensor, Tensor]; // 2 × (B, S, C)
      return keyValueHeads(k, v, nHead, nEmbd / nHead);
    });
  }

  /** HF GPT2Attention with is_cross_attention: queries from q_attn, no causal mask, the same scaling as self-attention. */
  private crossAttention(h: string, x: Tensor, layer: number, kv: KvPair, inputs: CausalLmInputs): Tensor {
    const { nHead, nEmbd, scaleAttnWeights, scaleAttnByInverseLayerIdx } = this.config;
    const hs = nEmbd / nHead;
    const q = splitHeads(linear(x, this.linear(`${h}crossattention.q_attn`, inputs)), nHead, hs); // (B, T, nh, hs)
    const scale = (scaleAttnWeights ? 1 / Math.sqrt(hs) : 1) / (scaleAttnByInverseLayerIdx ? layer + 1 : 1);
    return linear(unmaskedAttention(q, kv, { scale }), this.linear(`${h}crossattention.c_proj`, inputs));
  }

  private param(name: string): Tensor {
    return currentGraph().param(weightOf(this.weights, name));
  }

  private linear(name: string, inputs: Pick<CausalLmInputs, 'adapters' | 'overrides'> = {}): Linear {
    return { weight: inputs.overrides?.linear(name) ?? this.param(`${name}.weight`), bias: this.param(`${name}.bias`), adapter: inputs.adapters?.(name) };
  }

  private layerNorm(name: string, x: Tensor): Tensor {
    return F.layerNorm(x, this.param(`${name}.weight`), this.param(`${name}.bias`), { epsilon: this.config.layerNormEpsilon });
  }
}
