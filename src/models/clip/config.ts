/**
 * CLIPConfig (config.json of a CLIPModel): the text tower, the vision tower (read as a ViT with
 * CLIP's options) and the shared projection. Every getter names the key it reads.
 */
import { architectureOf, ConfigError, ConfigReader, type ConfigJson } from '../transformer/config.js';
import { parseVitConfig, VIT_ACTIVATIONS, type VitConfig } from '../vit/index.js';

export const CLIP_ARCHITECTURE = 'CLIPModel';

export interface ClipTextConfig {
  vocabSize: number;
  hiddenSize: number;
  layers: number;
  heads: number;
  intermediateSize: number;
  maxPositions: number;
  layerNormEps: number;
  activation: string;
  /**
   * Where the pooled token sits: with eos_token_id 2 (the configs written before transformers
   * PR #24773) at the largest id, else at the first eos_token_id, as CLIPTextTransformer pools.
   */
  eosTokenId: number;
  padTokenId: number;
}

export interface ClipConfig {
  text: ClipTextConfig;
  vision: VitConfig;
  projectionDim: number;
  /** ln of the initial temperature; the checkpoint's logit_scale is what is used. */
  logitScaleInit: number;
}

const DEFAULT_TEXT = { vocab_size: 49408, hidden_size: 512, intermediate_size: 2048, num_hidden_layers: 12, num_attention_heads: 8, max_position_embeddings: 77 };
const DEFAULT_VISION = { hidden_size: 768, intermediate_size: 3072, num_hidden_layers: 12, num_attention_heads: 12, image_size: 224, patch_size: 32 };

function parseText(json: ConfigJson, where: string): ClipTextConfig {
  const c = new ConfigReader({ ...DEFAULT_TEXT, ...json }, where);
  const hiddenSize = c.int('hidden_size');
  const heads = c.int('num_attention_heads');
  if (hiddenSize % heads !== 0) throw new ConfigError(`${where}: hidden_size ${hiddenSize} is not divisible by num_attention_heads ${heads}`);
  const activation = c.string('hidden_act', 'quick_gelu');
  if (!(activation in VIT_ACTIVATIONS)) throw new ConfigError(`${where}: "hidden_act" = "${activation}" is not supported (supported: ${Object.keys(VIT_ACTIVATIONS).join(', ')})`);
  const id = (key: string, fallback: number): number => {
    const v = c.json[key] ?? fallback;
    if (!Number.isInteger(v) || (v as number) < 0) throw new ConfigError(`${where}: "${key}" must be a token id (an integer ≥ 0), received ${JSON.stringify(v)}`);
    return v as number;
  };
  return {
    vocabSize: c.int('vocab_size'),
    hiddenSize,
    layers: c.int('num_hidden_layers'),
    heads,
    intermediateSize: c.int('intermediate_size'),
    maxPositions: c.int('max_position_embeddings'),
    layerNormEps: c.number('layer_norm_eps', 1e-5),
    activation,
    eosTokenId: id('eos_token_id', 2),
    padTokenId: id('pad_token_id', 1),
  };
}

/** Read a CLIPModel config.json; `where` names it in errors. */
export function parseClipConfig(json: ConfigJson, where = 'config.json'): ClipConfig {
  const arch = architectureOf(json, where);
  if (arch !== CLIP_ARCHITECTURE) throw new ConfigError(`${where}: architecture "${arch}" is not a CLIP model (expected ${CLIP_ARCHITECTURE})`);
  const c = new ConfigReader(json, `${CLIP_ARCHITECTURE} ${where}`);
  const sub = (key: string): ConfigJson => (c.object(key)?.json ?? {}) as ConfigJson;
  const vision = parseVitConfig({ ...DEFAULT_VISION, ...sub('vision_config') }, `${c.where} "vision_config"`, {
    activation: (sub('vision_config').hidden_act as string | undefined) ?? 'quick_gelu',
    layerNormEps: typeof sub('vision_config').layer_norm_eps === 'number' ? (sub('vision_config').layer_norm_eps as number) : 1e-5,
    qkvBias: true,
    patchBias: false,
    preLayerNorm: true,
    finalLayerNorm: false,
  });
  return {
    text: parseText(sub('text_config'), `${c.where} "text_config"`),
    vision,
    projectionDim: c.int('projection_dim', 512),
    logitScaleInit: c.number('logit_scale_init_value', 2.6592),
  };
}
