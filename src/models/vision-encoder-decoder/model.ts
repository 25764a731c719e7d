/**
 * HF VisionEncoderDecoderModel with a ViT encoder and a GPT-2 decoder (the
 * vit-gpt2 captioning checkpoints): `encoder.*` is a ViTModel, `decoder.*` a
 * GPT2LMHeadModel with cross-attention, and `enc_to_dec_proj` maps encoder
 * states to the decoder's width when the two differ.
 */
import type { Tensor } from '../../core/graph.js';
import { currentGraph } from '../../core/graph.js';
import type { Variable } from '../../core/variable.js';
import type { EncoderDecoderModel, EncoderInputSpec } from '../encoder-decoder/types.js';
import { Gpt2, gpt2Tensors, parseGpt2Config, withTransformerPrefix, type Gpt2Config } from '../gpt2/model.js';
import { ConfigError, ConfigReader, type ConfigJson } from '../transformer/config.js';
import { linear } from '../transformer/layers.js';
import type { CausalLmDims, CausalLmInputs, CausalLmOutputs, KvPair } from '../transformer/types.js';
import { bindWeights, weightOf, type CheckpointTensor, type CheckpointWeights, type ExpectedTensor } from '../transformer/weights.js';
import { parseVitConfig, type VitConfig } from '../vit/config.js';
import { VitEncoder, vitNaming, vitTensors } from '../vit/model.js';

export const VISION_ENCODER_DECODER_ARCHITECTURE = 'VisionEncoderDecoderModel';

const ENCODER = 'encoder.';
const DECODER = 'decoder.';
const PROJECTION = 'enc_to_dec_proj';

export interface VisionEncoderDecoderConfig {
  encoder: VitConfig;
  decoder: Gpt2Config;
  /** The first decoder token (decoder_start_token_id). */
  decoderStartTokenId: number;
  /** Whether enc_to_dec_proj exists (encoder and decoder widths differ). */
  projection: boolean;
}

/** The sub-config `key` ("encoder" / "decoder"), which must be of `modelType`. */
function subConfig(c: ConfigReader, key: string, modelType: string): ConfigJson {
  const sub = c.object(key);
  if (!sub) throw new ConfigError(`${c.where}: has no "${key}" config`);
  const type = sub.string('model_type');
  if (type !== modelType) throw new ConfigError(`${sub.where}: model_type "${type}" is not supported (supported: "${modelType}")`);
  return sub.json;
}

export function parseVisionEncoderDecoderConfig(json: ConfigJson, where = `${VISION_ENCODER_DECODER_ARCHITECTURE} config.json`): VisionEncoderDecoderConfig {
  const c = new ConfigReader(json, where);
  const encoder = parseVitConfig(subConfig(c, 'encoder', 'vit'), `${where} "encoder"`);
  // HF turns cross-attention on in the decoder whatever its config says; the weights must then be there.
  const decoder = parseGpt2Config({ ...subConfig(c, 'decoder', 'gpt2'), add_cross_attention: true });
  const decoderJson = c.object('decoder')!;
  const start = c.has('decoder_start_token_id') ? c.int('decoder_start_token_id') : decoderJson.int('bos_token_id');
  if (start >= decoder.vocabSize) throw new ConfigError(`${where}: decoder_start_token_id ${start} is outside the decoder's vocabulary (size ${decoder.vocabSize})`);
  const projection = encoder.hiddenSize !== decoder.nEmbd && !decoderJson.has('cross_attention_hidden_size');
  if (decoderJson.has('cross_attention_hidden_size')) decoderJson.require('cross_attention_hidden_size', [decoder.nEmbd]);
  return { encoder, decoder, decoderStartTokenId: start, projection };
}

/** Every tensor of the checkpoint under its full name (decoder names with `transformer.`). */
export function visionEncoderDecoderTensors(c: VisionEncoderDecoderConfig): ExpectedTensor[] {
  return [
    ...vitTensors(c.encoder, vitNaming(ENCODER)),
    ...gpt2Tensors(c.decoder).map((t) => ({ ...t, name: DECODER + t.name })),
    ...(c.projection
      ? [
          { name: `${PROJECTION}.weight`, shape: [c.decoder.nEmbd, c.encoder.hiddenSize], transpose: true },
          { name: `${PROJECTION}.bias`, shape: [c.decoder.nEmbd] },
        ]
      : []),
  ];
}

/** Decoder names as transformers 5 writes them: the hub's older files have `decoder.h.0…`, not `decoder.transformer.h.0…`. */
function canonicalWeights(weights: CheckpointWeights): Map<string, CheckpointTensor> {
  const decoder = new Map<string, CheckpointTensor>();
  const out = new Map<string, CheckpointTensor>();
  for (const [name, t] of weights) (name.startsWith(DECODER) ? decoder.set(name.slice(DECODER.length), t) : out.set(name, t));
  for (const [name, t] of withTransformerPrefix(decoder)) out.set(DECODER + name, t);
  return out;
}

/** Buffers and modules the model does not use: GPT-2's mask buffers, ViT's pooler, a tied head stored anyway. */
function ignoredTensors(c: VisionEncoderDecoderConfig): RegExp[] {
  return [/^decoder\..*\.attn\.(masked_)?bias$/, /^encoder\.pooler\./, ...(c.decoder.tieWordEmbeddings ? [/^decoder\.lm_head\.weight$/] : [])];
}

export class VisionEncoderDecoder implements EncoderDecoderModel {
  readonly architecture = VISION_ENCODER_DECODER_ARCHITECTURE;
  readonly encoderInput: EncoderInputSpec;
  readonly decoderDims: CausalLmDims;
  readonly crossDims: { heads: number; headDim: number };
  readonly vit: VitEncoder;
  readonly gpt2: Gpt2;

  constructor(
    readonly config: VisionEncoderDecoderConfig,
    /** By full checkpoint name. */
    readonly weights: ReadonlyMap<string, Variable>,
  ) {
    this.vit = new VitEncoder(config.encoder, vitNaming(ENCODER), weights);
    const decoderWeights = new Map([...weights].filter(([n]) => n.startsWith(DECODER)).map(([n, v]) => [n.slice(DECODER.length), v]));
    this.gpt2 = new Gpt2(config.decoder, decoderWeights);
    this.encoderInput = { name: 'pixel_values', dims: this.vit.pixelShape };
    this.decoderDims = this.gpt2.dims;
    this.crossDims = { heads: config.decoder.nHead, headDim: config.decoder.nEmbd / config.decoder.nHead };
  }

  /** Check every name and shape (a decoder without cross-attention weights names the first missing one) and bind. */
  static fromCheckpoint(json: ConfigJson, weights: CheckpointWeights, where?: string): VisionEncoderDecoder {
    const config = parseVisionEncoderDecoderConfig(json, where ? `${VISION_ENCODER_DECODER_ARCHITECTURE} ${where}` : undefined);
    const bound = bindWeights(`${VISION_ENCODER_DECODER_ARCHITECTURE} ${where ?? 'checkpoint'}`, visionEncoderDecoderTensors(config), canonicalWeights(weights), ignoredTensors(config));
    return new VisionEncoderDecoder(config, bound);
  }

  checkEncoderInput(dims: readonly number[], where: string): void {
    this.vit.checkPixels(dims, where);
  }

  /** pixel_values (B, 3, H, W) → ViT last_hidden_state (B, N+1, C_enc). */
  encode(pixels: Tensor): Tensor {
    return this.vit.forward(pixels);
  }

  crossKeyValues(encoderHidden: Tensor): KvPair[] {
    const g = currentGraph();
    const projected = this.config.projection
      ? linear(encoderHidden, { weight: g.param(weightOf(this.weights, `${PROJECTION}.weight`)), bias: g.param(weightOf(this.weights, `${PROJECTION}.bias`)) })
      : encoderHidden; // (B, S, n_embd)
    return this.gpt2.crossKeyValues(projected);
  }

  decode(inputs: CausalLmInputs & { cross: readonly KvPair[] }): CausalLmOutputs {
    return this.gpt2.forward(inputs);
  }
}
