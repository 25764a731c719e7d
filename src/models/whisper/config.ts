/**
 * WhisperForConditionalGeneration's config.json and checkpoint names. nn.Linear weights are
 * stored [out, in] and kept [in, out]; the two Conv1d kernels [out, in, 3] are used as
 * Conv2d kernels [out, in, 1, 3] over features laid out [B, mels, 1, frames].
 */
import { elementCount } from '../../core/shape.js';
import type { Rng } from '../../core/rng.js';
import { ConfigError, ConfigReader, type ConfigJson } from '../transformer/config.js';
import { ACTIVATIONS } from '../transformer/layers.js';
import type { CheckpointTensor, ExpectedTensor } from '../transformer/weights.js';

export const WHISPER_ARCHITECTURE = 'WhisperForConditionalGeneration';

export interface WhisperConfig {
  vocabSize: number;
  dModel: number;
  encoderLayers: number;
  encoderHeads: number;
  encoderFfn: number;
  decoderLayers: number;
  decoderHeads: number;
  decoderFfn: number;
  melBins: number;
  /** Encoder positions after the stride-2 conv: 1500 for 30 s. */
  maxSourcePositions: number;
  /** Decoder context: 448 for OpenAI's checkpoints. */
  maxTargetPositions: number;
  activation: string;
  scaleEmbedding: boolean;
  tieWordEmbeddings: boolean;
  decoderStartTokenId: number;
  eosTokenId: number;
  padTokenId: number;
  /** From config.json, as older checkpoints keep them there rather than in generation_config.json. */
  suppressTokens: number[];
  beginSuppressTokens: number[];
  initStd: number;
}

function tokenList(c: ConfigReader, key: string): number[] {
  const v = c.json[key];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || !v.every((x) => Number.isInteger(x) && x >= 0)) throw new ConfigError(`${c.where}: "${key}" must be a list of token ids, received ${JSON.stringify(v)}`);
  return v as number[];
}

export function parseWhisperConfig(json: ConfigJson, where = `${WHISPER_ARCHITECTURE} config.json`): WhisperConfig {
  const c = new ConfigReader(json, where);
  const dModel = c.int('d_model');
  const encoderHeads = c.int('encoder_attention_heads');
  const decoderHeads = c.int('decoder_attention_heads');
  for (const [key, heads] of [['encoder_attention_heads', encoderHeads], ['decoder_attention_heads', decoderHeads]] as const) {
    if (dModel % heads !== 0) throw new ConfigError(`${where}: d_model ${dModel} is not divisible by ${key} ${heads}`);
  }
  c.require('activation_function', Object.keys(ACTIVATIONS), 'gelu');
  c.require('use_weighted_layer_sum', [false], false);
  const eos = c.int('eos_token_id', 50257);
  return {
    vocabSize: c.int('vocab_size'),
    dModel,
    encoderLayers: c.int('encoder_layers'),
    encoderHeads,
    encoderFfn: c.int('encoder_ffn_dim'),
    decoderLayers: c.int('decoder_layers'),
    decoderHeads,
    decoderFfn: c.int('decoder_ffn_dim'),
    melBins: c.int('num_mel_bins', 80),
    maxSourcePositions: c.int('max_source_positions', 1500),
    maxTargetPositions: c.int('max_target_positions', 448),
    activation: c.string('activation_function', 'gelu'),
    scaleEmbedding: c.bool('scale_embedding', false),
    tieWordEmbeddings: c.bool('tie_word_embeddings', true),
    decoderStartTokenId: c.int('decoder_start_token_id', 50258),
    eosTokenId: eos,
    padTokenId: c.int('pad_token_id', eos),
    suppressTokens: tokenList(c, 'suppress_tokens'),
    beginSuppressTokens: tokenList(c, 'begin_suppress_tokens'),
    initStd: c.number('init_std', 0.02),
  };
}

function attentionTensors(prefix: string, d: number): ExpectedTensor[] {
  return [
    { name: `${prefix}.q_proj.weight`, shape: [d, d], transpose: true },
    { name: `${prefix}.q_proj.bias`, shape: [d] },
    { name: `${prefix}.k_proj.weight`, shape: [d, d], transpose: true },
    { name: `${prefix}.v_proj.weight`, shape: [d, d], transpose: true },
    { name: `${prefix}.v_proj.bias`, shape: [d] },
    { name: `${prefix}.out_proj.weight`, shape: [d, d], transpose: true },
    { name: `${prefix}.out_proj.bias`, shape: [d] },
  ];
}

const norm = (name: string, d: number): ExpectedTensor[] => [
  { name: `${name}.weight`, shape: [d] },
  { name: `${name}.bias`, shape: [d] },
];

function ffnTensors(prefix: string, d: number, ffn: number): ExpectedTensor[] {
  return [
    { name: `${prefix}.fc1.weight`, shape: [ffn, d], transpose: true },
    { name: `${prefix}.fc1.bias`, shape: [ffn] },
    { name: `${prefix}.fc2.weight`, shape: [d, ffn], transpose: true },
    { name: `${prefix}.fc2.bias`, shape: [d] },
    ...norm(`${prefix}.final_layer_norm`, d),
  ];
}

/** Every tensor of a WhisperForConditionalGeneration checkpoint (the tied proj_out is not stored). */
export function whisperTensors(c: WhisperConfig): ExpectedTensor[] {
  const d = c.dModel;
  const out: ExpectedTensor[] = [
    { name: 'model.encoder.conv1.weight', shape: [d, c.melBins, 3] },
    { name: 'model.encoder.conv1.bias', shape: [d] },
    { name: 'model.encoder.conv2.weight', shape: [d, d, 3] },
    { name: 'model.encoder.conv2.bias', shape: [d] },
    { name: 'model.encoder.embed_positions.weight', shape: [c.maxSourcePositions, d] },
  ];
  for (let i = 0; i < c.encoderLayers; i++) {
    const p = `model.encoder.layers.${i}`;
    out.push(...attentionTensors(`${p}.self_attn`, d), ...norm(`${p}.self_attn_layer_norm`, d), ...ffnTensors(p, d, c.encoderFfn));
  }
  out.push(...norm('model.encoder.layer_norm', d));
  out.push({ name: 'model.decoder.embed_tokens.weight', shape: [c.vocabSize, d] }, { name: 'model.decoder.embed_positions.weight', shape: [c.maxTargetPositions, d] });
  for (let i = 0; i < c.decoderLayers; i++) {
    const p = `model.decoder.layers.${i}`;
    out.push(
      ...attentionTensors(`${p}.self_attn`, d),
      ...norm(`${p}.self_attn_layer_norm`, d),
      ...attentionTensors(`${p}.encoder_attn`, d),
      ...norm(`${p}.encoder_attn_layer_norm`, d),
      ...ffnTensors(p, d, c.decoderFfn),
    );
  }
  out.push(...norm('model.decoder.layer_norm', d));
  if (!c.tieWordEmbeddings) out.push({ name: 'proj_out.weight', shape: [c.vocabSize, d], transpose: true });
  return out;
}

/** Tensors a checkpoint may carry that Forja does not need: the tied head some writers store anyway. */
export function ignoredWhisperTensors(c: WhisperConfig): RegExp[] {
  return c.tieWordEmbeddings ? [/^proj_out\.weight$/] : [];
}

/** Whisper's fixed sinusoidal encoder positions, rounded through float32 as HF's torch code computes them. */
function sinusoids(length: number, channels: number): Float32Array {
  const half = channels / 2;
  const step = Math.fround(Math.log(10000) / (half - 1));
  const f = Math.fround;
  const out = new Float32Array(length * channels);
  for (let t = 0; t < length; t++) {
    for (let i = 0; i < half; i++) {
      const angle = f(t * f(Math.exp(f(-step * i))));
      out[t * channels + i] = Math.sin(angle);
      out[t * channels + half + i] = Math.cos(angle);
    }
  }
  return out;
}

/** Fresh weights in checkpoint layout: N(0, init_std) matrices, unit norms, zero biases, sinusoidal encoder positions. */
export function whisperInitialWeights(c: WhisperConfig, rng: Rng): Map<string, CheckpointTensor> {
  const out = new Map<string, CheckpointTensor>();
  for (const { name, shape } of whisperTensors(c)) {
    const data = new Float32Array(elementCount(shape));
    if (name === 'model.encoder.embed_positions.weight') data.set(sinusoids(shape[0]!, shape[1]!));
    else if (/layer_norm\.weight$/.test(name)) data.fill(1);
    else if (!name.endsWith('.bias')) for (let i = 0; i < data.length; i++) data[i] = c.initStd * rng.normal();
    out.set(name, { shape, data });
  }
  return out;
}
