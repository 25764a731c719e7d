/**
 * The Vision Transformer encoder (HF ViTModel without pooler): patch
 * convolution, class token, learned positions, pre-LN blocks. Checkpoint
 * names come from a `VitNaming`, so CLIP's vision tower (other names, flat
 * embedding tensors, pre-LayerNorm, quick_gelu) runs on the same code.
 */
import { currentGraph, type Tensor } from '../../core/graph.js';
import * as F from '../../core/ops/index.js';
import { formatShape } from '../../core/shape.js';
import type { Variable } from '../../core/variable.js';
import { encoderSelfAttention } from '../transformer/cross-attention.js';
import { linear, mlp, type Linear } from '../transformer/layers.js';
import { weightOf, type ExpectedTensor } from '../transformer/weights.js';
import { VIT_ACTIVATIONS } from './activations.js';
import { vitTokens, type VitConfig } from './config.js';

/** Module names (without .weight/.bias) of one block. */
export interface VitLayerNames {
  norm1: string;
  query: string;
  key: string;
  value: string;
  out: string;
  norm2: string;
  fc1: string;
  fc2: string;
}

/** Where each encoder tensor lives in a checkpoint. */
export interface VitNaming {
  /** The patch Conv2d module: weight [hidden, channels, patch, patch]. */
  patch: string;
  /** Full tensor names. */
  classToken: string;
  positions: string;
  /** 'nested': ViT's [1, 1, C] class token and [1, N+1, C] positions; 'flat': CLIP's [C] and an embedding table [N+1, C]. */
  embeddingLayout: 'nested' | 'flat';
  /** Module names of the optional norms (used when the config enables them). */
  preNorm?: string;
  finalNorm?: string;
  layer(i: number): VitLayerNames;
}

/** HF ViT's names under `prefix` ('' for ViTModel, 'vit.' for classifiers, 'encoder.' inside a VisionEncoderDecoderModel). */
export function vitNaming(prefix = ''): VitNaming {
  return {
    patch: `${prefix}embeddings.patch_embeddings.projection`,
    classToken: `${prefix}embeddings.cls_token`,
    positions: `${prefix}embeddings.position_embeddings`,
    embeddingLayout: 'nested',
    finalNorm: `${prefix}layernorm`,
    layer: (i) => {
      const l = `${prefix}encoder.layer.${i}.`;
      return {
        norm1: `${l}layernorm_before`,
        query: `${l}attention.attention.query`,
        key: `${l}attention.attention.key`,
        value: `${l}attention.attention.value`,
        out: `${l}attention.output.dense`,
        norm2: `${l}layernorm_after`,
        fc1: `${l}intermediate.dense`,
        fc2: `${l}output.dense`,
      };
    },
  };
}

/** Every encoder tensor in checkpoint layout; nn.Linear weights are kept transposed ([in, out]). */
export function vitTensors(c: VitConfig, n: VitNaming): ExpectedTensor[] {
  const d = c.hiddenSize;
  const { tokens } = vitTokens(c);
  const flat = n.embeddingLayout === 'flat';
  const norm = (m: string): ExpectedTensor[] => [
    { name: `${m}.weight`, shape: [d] },
    { name: `${m}.bias`, shape: [d] },
  ];
  const dense = (m: string, inputs: number, outputs: number, bias = true): ExpectedTensor[] => [
    { name: `${m}.weight`, shape: [outputs, inputs], transpose: true },
    ...(bias ? [{ name: `${m}.bias`, shape: [outputs] }] : []),
  ];
  const out: ExpectedTensor[] = [
    { name: `${n.patch}.weight`, shape: [d, c.channels, c.patchSize, c.patchSize] },
    ...(c.patchBias ? [{ name: `${n.patch}.bias`, shape: [d] }] : []),
    { name: n.classToken, shape: flat ? [d] : [1, 1, d] },
    { name: n.positions, shape: flat ? [tokens, d] : [1, tokens, d] },
  ];
  if (c.preLayerNorm) out.push(...norm(requiredName(n.preNorm, 'preNorm')));
  for (let i = 0; i < c.layers; i++) {
    const l = n.layer(i);
    out.push(
      ...norm(l.norm1),
      ...dense(l.query, d, d, c.qkvBias),
      ...dense(l.key, d, d, c.qkvBias),
      ...dense(l.value, d, d, c.qkvBias),
      ...dense(l.out, d, d),
      ...norm(l.norm2),
      ...dense(l.fc1, d, c.intermediateSize),
      ...dense(l.fc2, c.intermediateSize, d),
    );
  }
  if (c.finalLayerNorm) out.push(...norm(requiredName(n.finalNorm, 'finalNorm')));
  return out;
}

function requiredName(name: string | undefined, what: string): string {
  if (!name) throw new Error(`internal: the ViT config enables ${what} but its naming has no module for it`);
  return name;
}

export class PixelShapeError extends Error {
  override name = 'PixelShapeError';
}

export class VitEncoder {
  constructor(
    readonly config: VitConfig,
    readonly naming: VitNaming,
    /** Bound from `vitTensors` (and possibly other tensors of a larger model). */
    readonly weights: ReadonlyMap<string, Variable>,
  ) {}

  /** [channels, height, width] every image must have. */
  get pixelShape(): [number, number, number] {
    return [this.config.channels, ...this.config.imageSize];
  }

  /** Throw naming the expected [batch, channels, height, width] when `dims` is anything else. */
  checkPixels(dims: readonly number[], where: string): void {
    const [c, h, w] = this.pixelShape;
    const ok = dims.length === 4 && dims[0]! >= 1 && dims[1] === c && dims[2] === h && dims[3] === w;
    if (!ok) {
      throw new PixelShapeError(
        `${where}: pixel_values must have shape [batch, ${c}, ${h}, ${w}] (batch ≥ 1, normalised by the image processor), received ${formatShape(dims)}`,
      );
    }
  }

  /** pixel_values (B, channels, H, W) → last_hidden_state (B, N+1, C). */
  forward(pixels: Tensor): Tensor {
    const c = this.config;
    const n = this.naming;
    const d = c.hiddenSize;
    const { tokens } = vitTokens(c);
    const act = VIT_ACTIVATIONS[c.activation]!;
    const patchBias = c.patchBias ? this.param(`${n.patch}.bias`) : null;
    const grid = F.conv2d(pixels, this.param(`${n.patch}.weight`), patchBias, { strides: c.patchSize }); // (B, C, H/p, W/p)
    const patches = F.transpose(F.reshape(grid, [grid.shape[0]!, d, -1]), [0, 2, 1]); // (B, N, C)
    const cls = F.expandTo(F.reshape(this.param(n.classToken), [1, 1, d]), F.slice(patches, [0], [1], [1])); // (B, 1, C)
    let x = F.add(F.concat([cls, patches], 1), F.reshape(this.param(n.positions), [1, tokens, d])); // (B, N+1, C)
    if (c.preLayerNorm) x = this.layerNorm(n.preNorm!, x);
    for (let i = 0; i < c.layers; i++) {
      currentGraph().scope(`vit.layer.${i}`, () => {
        const l = n.layer(i);
        x = F.add(x, linear(this.attention(l, this.layerNorm(l.norm1, x)), this.linear(l.out)));
        x = F.add(x, mlp(this.layerNorm(l.norm2, x), this.linear(l.fc1), this.linear(l.fc2), act));
      });
    }
    return c.finalLayerNorm ? this.layerNorm(n.finalNorm!, x) : x;
  }

  private attention(l: VitLayerNames, x: Tensor): Tensor {
    const { heads, hiddenSize } = this.config;
    const hs = hiddenSize / heads;
    const project = (name: string) => linear(x, this.linear(name, this.config.qkvBias));
    return encoderSelfAttention(project(l.query), project(l.key), project(l.value), heads, { scale: 1 / Math.sqrt(hs) }); // (B, T, C)
  }

  private param(name: string): Tensor {
    return currentGraph().param(weightOf(this.weights, name));
  }

  private linear(module: string, bias = true): Linear {
    return bias ? { weight: this.param(`${module}.weight`), bias: this.param(`${module}.bias`) } : { weight: this.param(`${module}.weight`) };
  }

  private layerNorm(module: string, x: Tensor): Tensor {
    return F.layerNorm(x, this.param(`${module}.weight`), this.param(`${module}.bias`), { epsilon: this.config.layerNormEps });
  }
}
