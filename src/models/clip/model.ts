/**
 * CLIPModel: a causal text transformer pooled at its end-of-text token, a ViT vision tower pooled
 * at its class token (models/vit with CLIP's names and options), one linear projection each into
 * a shared space, and the learned temperature logit_scale. nn.Linear weights [out, in] are kept
 * as [in, out] so the graph computes x @ W, as in the other architectures.
 */
import { currentGraph, type Tensor } from '../../core/graph.js';
import * as F from '../../core/ops/index.js';
import type { Rng } from '../../core/rng.js';
import { elementCount, formatShape } from '../../core/shape.js';
import type { Variable } from '../../core/variable.js';
import { cachedAttention, splitHeads } from '../transformer/attention.js';
import type { ConfigJson } from '../transformer/config.js';
import { linear, mlp, type Linear } from '../transformer/layers.js';
import { attentionBias, dimOf } from '../transformer/mask.js';
import { bindWeights, WeightError, weightOf, type CheckpointTensor, type CheckpointWeights, type ExpectedTensor } from '../transformer/weights.js';
import { VIT_ACTIVATIONS, VitEncoder, vitTensors, type VitLayerNames, type VitNaming } from '../vit/index.js';
import { parseClipConfig, type ClipConfig } from './config.js';

/** CLIP's vision tower names, read by the shared ViT encoder. */
export const CLIP_VISION_NAMING: VitNaming = {
  patch: 'vision_model.embeddings.patch_embedding',
  classToken: 'vision_model.embeddings.class_embedding',
  positions: 'vision_model.embeddings.position_embedding.weight',
  embeddingLayout: 'flat',
  preNorm: 'vision_model.pre_layrnorm',
  layer: (i) => clipLayer(`vision_model.encoder.layers.${i}.`),
};

function clipLayer(l: string): VitLayerNames {
  return {
    norm1: `${l}layer_norm1`,
    query: `${l}self_attn.q_proj`,
    key: `${l}self_attn.k_proj`,
    value: `${l}self_attn.v_proj`,
    out: `${l}self_attn.out_proj`,
    norm2: `${l}layer_norm2`,
    fc1: `${l}mlp.fc1`,
    fc2: `${l}mlp.fc2`,
  };
}

/** A checkpoint whose projections do not map both towers into one projection_dim space. */
export class ProjectionMismatchError extends WeightError {
  override name = 'ProjectionMismatchError';
  constructor(
    readonly where: string,
    readonly tensor: string,
    readonly shape: readonly number[],
    readonly expected: readonly number[],
    reason: string,
  ) {
    super(`${where}: '${tensor}' has shape ${formatShape(shape)}, expected ${formatShape(expected)}: ${reason}`);
  }
}

/** Every tensor of a CLIPModel checkpoint, by name and stored shape. */
export function clipTensors(c: ClipConfig): ExpectedTensor[] {
  const t = c.text;
  const d = t.hiddenSize;
  const norm = (m: string, width = d): ExpectedTensor[] => [
    { name: `${m}.weight`, shape: [width] },
    { name: `${m}.bias`, shape: [width] },
  ];
  const dense = (m: string, inputs: number, outputs: number): ExpectedTensor[] => [
    { name: `${m}.weight`, shape: [outputs, inputs], transpose: true },
    { name: `${m}.bias`, shape: [outputs] },
  ];
  const out: ExpectedTensor[] = [
    { name: 'text_model.embeddings.token_embedding.weight', shape: [t.vocabSize, d] },
    { name: 'text_model.embeddings.position_embedding.weight', shape: [t.maxPositions, d] },
  ];
  for (let i = 0; i < t.layers; i++) {
    const l = clipLayer(`text_model.encoder.layers.${i}.`);
    out.push(...norm(l.norm1), ...dense(l.query, d, d), ...dense(l.key, d, d), ...dense(l.value, d, d), ...dense(l.out, d, d));
    out.push(...norm(l.norm2), ...dense(l.fc1, d, t.intermediateSize), ...dense(l.fc2, t.intermediateSize, d));
  }
  out.push(...norm('text_model.final_layer_norm'), ...vitTensors(c.vision, CLIP_VISION_NAMING), ...norm('vision_model.post_layernorm', c.vision.hiddenSize));
  out.push(
    { name: 'text_projection.weight', shape: [c.projectionDim, d], transpose: true },
    { name: 'visual_projection.weight', shape: [c.projectionDim, c.vision.hiddenSize], transpose: true },
    { name: 'logit_scale', shape: [] },
  );
  return out;
}

/** Buffers older checkpoints carry. */
const IGNORED = [/^(text|vision)_model\.embeddings\.position_ids$/];

/** Both projections must land in one space of projection_dim; say which one does not, and why. */
function checkProjections(c: ClipConfig, weights: CheckpointWeights, where: string): void {
  const text = weights.get('text_projection.weight');
  const visual = weights.get('visual_projection.weight');
  const towers = [
    ['text_projection.weight', text, c.text.hiddenSize, 'text_config'],
    ['visual_projection.weight', visual, c.vision.hiddenSize, 'vision_config'],
  ] as const;
  for (const [name, t, hidden, tower] of towers) {
    if (!t) continue; // bindWeights names a missing tensor
    const expected = [c.projectionDim, hidden];
    if (t.shape.length === 2 && t.shape[0] === expected[0] && t.shape[1] === expected[1]) continue;
    const other = name === 'text_projection.weight' ? visual : text;
    const reason =
      t.shape.length !== 2
        ? 'a projection is a matrix [projection_dim, hidden_size]'
        : t.shape[1] !== hidden
          ? `its input size must be the ${tower} hidden_size ${hidden}`
          : other && other.shape[0] !== t.shape[0]
            ? `text_projection maps to ${text!.shape[0]} dimensions and visual_projection to ${visual!.shape[0]}; text and image embeddings must share one space`
            : `both towers project to ${t.shape[0]} dimensions but config.json says projection_dim ${c.projectionDim}`;
    throw new ProjectionMismatchError(where, name, t.shape, expected, reason);
  }
}

/** Fresh weights in checkpoint layout, initialised as HF's CLIPPreTrainedModel roughly does (for benchmarks and tests). */
export function clipInitialWeights(c: ClipConfig, rng: Rng, std = 0.02): Map<string, CheckpointTensor> {
  const out = new Map<string, CheckpointTensor>();
  for (const { name, shape } of clipTensors(c)) {
    const data = new Float32Array(elementCount(shape));
    if (name === 'logit_scale') data[0] = c.logitScaleInit;
    else if (/(norm\d?|layrnorm|layernorm)\.weight$/.test(name)) data.fill(1);
    else if (!name.endsWith('.bias')) for (let i = 0; i < data.length; i++) data[i] = std * rng.normal();
    out.set(name, { shape, data });
  }
  return out;
}

export class Clip {
  readonly vision: VitEncoder;

  constructor(
    readonly config: ClipConfig,
    /** By checkpoint name, linear weights as [in, out]. */
    readonly weights: ReadonlyMap<string, Variable>,
  ) {
    this.vision = new VitEncoder(config.vision, CLIP_VISION_NAMING, weights);
  }

  /** Bind a CLIPModel checkpoint after checking every name and shape, the projections first. */
  static fromCheckpoint(json: ConfigJson, weights: CheckpointWeights, where = 'config.json'): Clip {
    const config = parseClipConfig(json, where);
    checkProjections(config, weights, where);
    return new Clip(config, bindWeights(`CLIPModel ${where}`, clipTensors(config), weights, IGNORED));
  }

  /** A randomly initialised model (the same seed gives the same weights). */
  static init(json: ConfigJson, rng: Rng): Clip {
    const config = parseClipConfig(json);
    return new Clip(config, bindWeights('CLIPModel', clipTensors(config), clipInitialWeights(config, rng)));
  }

  /** exp(logit_scale): what cosine similarities are multiplied by to give logits. */
  get logitScale(): number {
    return Math.exp(weightOf(this.weights, 'logit_scale').value[0]!);
  }

  /** input_ids, attention_mask (B, T) int64 → text_embeds (B, projection_dim), projected, not normalised. */
  textEmbeds(inputIds: Tensor, attentionMask: Tensor): Tensor {
    return linear(this.textPooled(inputIds, attentionMask), { weight: this.param('text_projection.weight') });
  }

  /** pixel_values (B, 3, H, W) → image_embeds (B, projection_dim), projected, not normalised. */
  imageEmbeds(pixels: Tensor): Tensor {
    const hidden = this.vision.forward(pixels); // (B, N+1, C)
    const cls = F.squeeze(F.slice(hidden, [0], [1], [1]), [1]); // (B, C)
    return linear(this.layerNorm('vision_model.post_layernorm', cls, this.config.vision.layerNormEps), { weight: this.param('visual_projection.weight') });
  }

  /** CLIPTextTransformer: causal pre-LN blocks, final LayerNorm, the hidden state at the end-of-text token (B, H). */
  textPooled(inputIds: Tensor, attentionMask: Tensor): Tensor {
    const t = this.config.text;
    const steps = dimOf(inputIds, 1);
    const act = VIT_ACTIVATIONS[t.activation]!;
    const tokens = F.gather(this.param('text_model.embeddings.token_embedding.weight'), inputIds); // (B, T, H)
    const positions = F.gather(this.param('text_model.embeddings.position_embedding.weight'), F.range(0, steps)); // (T, H)
    let x = F.add(tokens, positions);
    const bias = attentionBias({ queryLength: steps, totalLength: steps, attentionMask }); // (B, 1, T, T)
    const headDim = t.hiddenSize / t.heads;
    for (let i = 0; i < t.layers; i++) {
      currentGraph().scope(`clip.text.layer.${i}`, () => {
        const l = clipLayer(`text_model.encoder.layers.${i}.`);
        const h = this.layerNorm(l.norm1, x);
        const [q, k, v] = [l.query, l.key, l.value].map((m) => splitHeads(linear(h, this.linear(m)), t.heads, headDim)) as [Tensor, Tensor, Tensor]; // (B, T, nh, hs)
        const attended = cachedAttention({ heads: t.heads, kvHeads: t.heads, headDim }, { q, k, v, bias, scale: 1 / Math.sqrt(headDim) }).out; // (B, T, H)
        x = F.add(x, linear(attended, this.linear(l.out)));
        x = F.add(x, mlp(this.layerNorm(l.norm2, x), this.linear(l.fc1), this.linear(l.fc2), act));
      });
    }
    x = this.layerNorm('text_model.final_layer_norm', x);
    // Legacy configs (eos_token_id 2) pool at the largest id, where openai's end-of-text token sits; others at the first eos_token_id.
    const marks = t.eosTokenId === 2 ? F.cast(inputIds, 'float32') : F.cast(F.equal(inputIds, F.scalar(t.eosTokenId, 'int64')), 'float32');
    const at = F.unsqueeze(F.argmax(marks, -1, true), [2]); // (B, 1, 1)
    const index = F.expandTo(at, F.slice(x, [0], [1], [1])); // (B, 1, H)
    return F.squeeze(F.gatherElements(x, index, 1), [1]); // (B, H)
  }

  private param(name: string): Tensor {
    return currentGraph().param(weightOf(this.weights, name));
  }

  private linear(module: string): Linear {
    return { weight: this.param(`${module}.weight`), bias: this.param(`${module}.bias`) };
  }

  private layerNorm(module: string, x: Tensor, epsilon = this.config.text.layerNormEps): Tensor {
    return F.layerNorm(x, this.param(`${module}.weight`), this.param(`${module}.bias`), { epsilon });
  }
}
