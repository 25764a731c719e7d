/**
 * BERT (BertModel, BertForSequenceClassification): the checkpoint name map and
 * the forward pass, post-LN as in the original. Checkpoint names are kept
 * without the `bert.` prefix BertFor* heads add; nn.Linear weights [out, in]
 * are kept transposed as [in, out] so the graph computes x @ W. Every op is
 * traced and differentiable, so the same forward pass can be trained.
 */
import { currentGraph, type Tensor } from '../../core/graph.js';
import * as F from '../../core/ops/index.js';
import { elementCount } from '../../core/shape.js';
import type { Rng } from '../../core/rng.js';
import type { Variable } from '../../core/variable.js';
import { cachedAttention, splitHeads } from '../transformer/attention.js';
import type { ConfigJson } from '../transformer/config.js';
import { ACTIVATIONS, linear, mlp, type Linear } from '../transformer/layers.js';
import { dimOf } from '../transformer/mask.js';
import type { DropoutSite } from '../transformer/types.js';
import { bindWeights, weightOf, type CheckpointTensor, type CheckpointWeights, type ExpectedTensor } from '../transformer/weights.js';
import { parseBertConfig, type BertConfig } from './config.js';

/** float32 min, as HF fills masked scores; finite so softmax over padding stays NaN-free. */
const MASKED = -3.4028234663852886e38;

export interface BertHeads {
  /** pooler.dense: tanh(W·h[CLS] + b). */
  pooler: boolean;
  /** classifier: the sequence-classification head over the pooled output. */
  classifier: boolean;
}

/** Every tensor of an encoder with `heads`, by checkpoint name (without `bert.`) and stored shape. */
export function bertTensors(c: BertConfig, heads: BertHeads): ExpectedTensor[] {
  const d = c.hiddenSize;
  const dense = (name: string, inDim: number, outDim: number): ExpectedTensor[] => [
    { name: `${name}.weight`, shape: [outDim, inDim], transpose: true },
    { name: `${name}.bias`, shape: [outDim] },
  ];
  const norm = (name: string): ExpectedTensor[] => [
    { name: `${name}.weight`, shape: [d] },
    { name: `${name}.bias`, shape: [d] },
  ];
  const out: ExpectedTensor[] = [
    { name: 'embeddings.word_embeddings.weight', shape: [c.vocabSize, d] },
    { name: 'embeddings.position_embeddings.weight', shape: [c.maxPositionEmbeddings, d] },
    { name: 'embeddings.token_type_embeddings.weight', shape: [c.typeVocabSize, d] },
    ...norm('embeddings.LayerNorm'),
  ];
  for (let i = 0; i < c.numHiddenLayers; i++) {
    const l = `encoder.layer.${i}.`;
    out.push(
      ...dense(`${l}attention.self.query`, d, d),
      ...dense(`${l}attention.self.key`, d, d),
      ...dense(`${l}attention.self.value`, d, d),
      ...dense(`${l}attention.output.dense`, d, d),
      ...norm(`${l}attention.output.LayerNorm`),
      ...dense(`${l}intermediate.dense`, d, c.intermediateSize),
      ...dense(`${l}output.dense`, c.intermediateSize, d),
      ...norm(`${l}output.LayerNorm`),
    );
  }
  if (heads.pooler || heads.classifier) out.push(...dense('pooler.dense', d, d));
  if (heads.classifier) out.push(...dense('classifier', d, c.numLabels));
  return out;
}

/**
 * Checkpoint names as bertTensors spells them: `bert.` dropped (BertFor* heads
 * add it), and the `gamma`/`beta` of checkpoints converted from TensorFlow read
 * as LayerNorm `weight`/`bias`.
 */
export function canonicalBertWeights(weights: CheckpointWeights): Map<string, CheckpointTensor> {
  const out = new Map<string, CheckpointTensor>();
  for (const [name, t] of weights) {
    const n = name
      .replace(/^bert\./, '')
      .replace(/LayerNorm\.gamma$/, 'LayerNorm.weight')
      .replace(/LayerNorm\.beta$/, 'LayerNorm.bias');
    out.set(n, t);
  }
  return out;
}

/** Buffers and heads the encoder never reads (MLM/NSP heads; the pooler unless asked for). */
function ignoredTensors(heads: BertHeads): RegExp[] {
  return [/^embeddings\.position_ids$/, /^cls\./, ...(heads.pooler || heads.classifier ? [] : [/^pooler\./]), ...(heads.classifier ? [] : [/^classifier\./])];
}

/** Fresh weights in checkpoint layout, initialised as HF's BertPreTrainedModel: N(0, initializer_range), unit LayerNorm gains, zero biases. */
export function bertInitialWeights(c: BertConfig, heads: BertHeads, rng: Rng): Map<string, CheckpointTensor> {
  const out = new Map<string, CheckpointTensor>();
  for (const { name, shape } of bertTensors(c, heads)) {
    const data = new Float32Array(elementCount(shape));
    if (name.endsWith('LayerNorm.weight')) data.fill(1);
    else if (!name.endsWith('.bias')) for (let i = 0; i < data.length; i++) data[i] = c.initializerRange * rng.normal();
    out.set(name, { shape, data });
  }
  return out;
}

export interface BertInputs {
  /** [B, T] int64. */
  inputIds: Tensor;
  /** [B, T] int64, 1 for real tokens, 0 for padding. */
  attentionMask: Tensor;
  /** [B, T] int64 segment ids; default all 0. */
  tokenTypeIds?: Tensor;
  /** Training only: applied at each HF dropout site. */
  dropout?: (x: Tensor, site: DropoutSite) => Tensor;
  /** Inference graphs for ONNX Runtime only: attention and residual LayerNorms as its fused kernels (core/ops/fused.ts). */
  fused?: boolean;
}

export class Bert {
  constructor(
    readonly config: BertConfig,
    /** By checkpoint name without `bert.`, linear weights as [in, out]. */
    readonly weights: ReadonlyMap<string, Variable>,
    readonly heads: BertHeads,
  ) {}

  /** Bind a checkpoint's tensors (with or without `bert.`) after checking every name and shape. */
  static fromCheckpoint(json: ConfigJson, weights: CheckpointWeights, heads: BertHeads, where?: string): Bert {
    const config = parseBertConfig(json, where);
    const bound = bindWeights(`${config.architecture} ${where ?? 'checkpoint'}`, bertTensors(config, heads), canonicalBertWeights(weights), ignoredTensors(heads));
    return new Bert(config, bound, heads);
  }

  /** A randomly initialised model (the same seed gives the same weights). */
  static init(json: ConfigJson, heads: BertHeads, rng: Rng): Bert {
    const config = parseBertConfig(json);
    return new Bert(config, bindWeights(config.architecture, bertTensors(config, heads), bertInitialWeights(config, heads, rng)), heads);
  }

  /** The encoder's last hidden state (B, T, H). */
  encode(inputs: BertInputs): Tensor {
    const c = this.config;
    const drop = (x: Tensor, site: DropoutSite) => (inputs.dropout ? inputs.dropout(x, site) : x);
    const act = ACTIVATIONS[c.hiddenAct]!;
    const steps = dimOf(inputs.inputIds, 1);
    const words = F.gather(this.param('embeddings.word_embeddings.weight'), inputs.inputIds); // (B, T, H)
    const positions = F.gather(this.param('embeddings.position_embeddings.weight'), F.range(0, steps)); // (T, H)
    const typeTable = this.param('embeddings.token_type_embeddings.weight');
    const types = inputs.tokenTypeIds ? F.gather(typeTable, inputs.tokenTypeIds) : F.slice(typeTable, [0], [1], [0]); // (B, T, H) or (1, H)
    let x = drop(this.layerNorm('embeddings.LayerNorm', F.add(F.add(words, types), positions)), 'embedding');
    if (inputs.fused) {
      if (inputs.dropout) throw new Error(`${c.architecture}: fused kernels are for inference graphs; they have no dropout or gradient`);
      return this.encodeFused(x, inputs.attentionMask);
    }
    const bias = paddingBias(inputs.attentionMask); // (B, 1, 1, T)
    for (let i = 0; i < c.numHiddenLayers; i++) {
      currentGraph().scope(`layer.${i}`, () => {
        const l = `encoder.layer.${i}.`;
        const attended = linear(this.attention(`${l}attention.self.`, x, bias, inputs), this.linear(`${l}attention.output.dense`));
        x = this.layerNorm(`${l}attention.output.LayerNorm`, F.add(x, drop(attended, 'residual')));
        const ff = mlp(x, this.linear(`${l}intermediate.dense`), this.linear(`${l}output.dense`), act);
        x = this.layerNorm(`${l}output.LayerNorm`, F.add(x, drop(ff, 'residual')));
      });
    }
    return x;
  }

  /** The encoder layers over embedded `x` with ORT's Attention and SkipLayerNormalization kernels. */
  private encodeFused(x: Tensor, attentionMask: Tensor): Tensor {
    const c = this.config;
    const act = ACTIVATIONS[c.hiddenAct]!;
    const mask = F.cast(attentionMask, 'int32');
    const norm = (name: string, y: Tensor, skip: Tensor, bias: Tensor) =>
      F.skipLayerNorm(y, skip, this.param(`${name}.weight`), this.param(`${name}.bias`), bias, c.layerNormEps);
    for (let i = 0; i < c.numHiddenLayers; i++) {
      currentGraph().scope(`layer.${i}`, () => {
        const l = `encoder.layer.${i}.`;
        const qkv = ['query', 'key', 'value'].map((n) => this.linear(`${l}attention.self.${n}`));
        // Concats of initializers, folded into one constant when ORT loads the graph.
        const weight = F.concat(qkv.map((p) => p.weight as Tensor), 1);
        const bias = F.concat(qkv.map((p) => p.bias!), 0);
        const attended = F.fusedSelfAttention(x, weight, bias, mask, c.numAttentionHeads);
        const out = this.linear(`${l}attention.output.dense`);
        x = norm(`${l}attention.output.LayerNorm`, F.matmul(attended, out.weight as Tensor), x, out.bias!);
        const hidden = act(linear(x, this.linear(`${l}intermediate.dense`)));
        const down = this.linear(`${l}output.dense`);
        x = norm(`${l}output.LayerNorm`, F.matmul(hidden, down.weight as Tensor), x, down.bias!);
      });
    }
    return x;
  }

  /** BertPooler: tanh(dense(h[:, 0])) → (B, H). */
  pool(hidden: Tensor): Tensor {
    return F.tanh(linear(clsToken(hidden), this.linear('pooler.dense')));
  }

  /** BertForSequenceClassification's logits (B, num_labels). */
  classify(inputs: BertInputs): Tensor {
    const pooled = this.pool(this.encode(inputs));
    return linear(inputs.dropout ? inputs.dropout(pooled, 'residual') : pooled, this.linear('classifier'));
  }

  private attention(prefix: string, x: Tensor, bias: Tensor, inputs: BertInputs): Tensor {
    const { hiddenSize, numAttentionHeads: heads } = this.config;
    const headDim = hiddenSize / heads;
    const [q, k, v] = ['query', 'key', 'value'].map((n) => splitHeads(linear(x, this.linear(prefix + n)), heads, headDim)) as [Tensor, Tensor, Tensor]; // (B, T, nh, hs)
    return cachedAttention(
      { heads, kvHeads: heads, headDim },
      { q, k, v, bias, scale: 1 / Math.sqrt(headDim), ...(inputs.dropout ? { dropout: inputs.dropout } : {}) },
    ).out; // (B, T, H)
  }

  private param(name: string): Tensor {
    return currentGraph().param(weightOf(this.weights, name));
  }

  private linear(name: string): Linear {
    return { weight: this.param(`${name}.weight`), bias: this.param(`${name}.bias`) };
  }

  private layerNorm(name: string, x: Tensor): Tensor {
    return F.layerNorm(x, this.param(`${name}.weight`), this.param(`${name}.bias`), { epsilon: this.config.layerNormEps });
  }
}

/** (B, T) mask → (B, 1, 1, T) additive bias: every query sees every real key. */
export function paddingBias(attentionMask: Tensor): Tensor {
  return F.where(F.unsqueeze(F.cast(attentionMask, 'bool'), [1, 2]), 0, MASKED);
}

/** h[:, 0] (B, H), by slicing so that it has a gradient. */
export function clsToken(hidden: Tensor): Tensor {
  return F.squeeze(F.slice(hidden, [0], [1], [1]), [1]);
}
