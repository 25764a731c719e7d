/**
 * The Vision Transformer's settings, from an HF ViT config (ViTConfig) or
 * overridden by an architecture that reuses the encoder (CLIP's vision tower).
 */
import { ConfigError, ConfigReader, type ConfigJson } from '../transformer/config.js';
import { VIT_ACTIVATIONS } from './activations.js';

export interface VitConfig {
  hiddenSize: number;
  layers: number;
  heads: number;
  intermediateSize: number;
  /** [height, width] the position embeddings were trained for; other sizes are refused. */
  imageSize: readonly [number, number];
  patchSize: number;
  channels: number;
  /** LayerNorm ε of every norm (ViT 1e-12, CLIP 1e-5). */
  layerNormEps: number;
  /** HF name of the MLP activation: 'gelu' (ViT), 'quick_gelu' (CLIP), or any of transformer/layers' ACTIVATIONS. */
  activation: string;
  /** Biases on the query/key/value projections (ViT qkv_bias; CLIP has them). */
  qkvBias: boolean;
  /** Bias on the patch convolution (ViT yes, CLIP no). */
  patchBias: boolean;
  /** LayerNorm over the embeddings before the first block (CLIP's pre_layrnorm); ViT has none. */
  preLayerNorm: boolean;
  /** LayerNorm over the last block's output (ViTModel.layernorm). CLIP norms only its pooled token, outside the encoder. */
  finalLayerNorm: boolean;
}

/** The options an architecture reusing the encoder decides itself rather than reading from config.json. */
export type VitOverrides = Partial<Pick<VitConfig, 'qkvBias' | 'patchBias' | 'preLayerNorm' | 'finalLayerNorm' | 'activation' | 'layerNormEps'>>;

/** image_size is an int or [h, w] in HF configs. */
function imageSizeOf(c: ConfigReader): [number, number] {
  const v = c.json.image_size;
  if (Array.isArray(v) && v.length === 2 && v.every((d) => Number.isInteger(d) && (d as number) > 0)) return [v[0] as number, v[1] as number];
  const side = c.int('image_size', 224);
  return [side, side];
}

/** Read a ViT (or CLIP vision) config; `where` names it in errors, e.g. "VisionEncoderDecoderModel config.json encoder". */
export function parseVitConfig(json: ConfigJson, where: string, overrides: VitOverrides = {}): VitConfig {
  const c = new ConfigReader(json, where);
  const hiddenSize = c.int('hidden_size');
  const heads = c.int('num_attention_heads');
  if (hiddenSize % heads !== 0) throw new ConfigError(`${where}: hidden_size ${hiddenSize} is not divisible by num_attention_heads ${heads}`);
  const activation = overrides.activation ?? c.string('hidden_act', 'gelu');
  if (!(activation in VIT_ACTIVATIONS)) {
    throw new ConfigError(`${where}: "hidden_act" = "${activation}" is not supported (supported: ${Object.keys(VIT_ACTIVATIONS).join(', ')})`);
  }
  const imageSize = imageSizeOf(c);
  const patchSize = c.int('patch_size', 16);
  if (imageSize[0] % patchSize !== 0 || imageSize[1] % patchSize !== 0) {
    throw new ConfigError(`${where}: image_size ${imageSize.join('×')} is not a multiple of patch_size ${patchSize}`);
  }
  return {
    hiddenSize,
    layers: c.int('num_hidden_layers'),
    heads,
    intermediateSize: c.int('intermediate_size', 4 * hiddenSize),
    imageSize,
    patchSize,
    channels: c.int('num_channels', 3),
    layerNormEps: overrides.layerNormEps ?? c.number('layer_norm_eps', 1e-12),
    activation,
    qkvBias: overrides.qkvBias ?? c.bool('qkv_bias', true),
    patchBias: overrides.patchBias ?? true,
    preLayerNorm: overrides.preLayerNorm ?? false,
    finalLayerNorm: overrides.finalLayerNorm ?? true,
  };
}

/** Patches per image, and tokens with the class token. */
export function vitTokens(c: VitConfig): { patches: number; tokens: number } {
  const patches = (c.imageSize[0] / c.patchSize) * (c.imageSize[1] / c.patchSize);
  return { patches, tokens: patches + 1 };
}
