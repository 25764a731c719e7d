/**
 * Whisper's forward passes, traced into the current graph, as an EncoderDecoderModel: the generic
 * runtime (models/encoder-decoder) runs `encode` + `crossKeyValues` once per batch of 30 s windows
 * and `decode` for the prompt and every new token. Pre-LayerNorm blocks; queries scaled by
 * 1/√head_dim; k_proj has no bias.
 */
import { currentGraph, type Tensor } from '../../core/graph.js';
import * as F from '../../core/ops/index.js';
import type { Rng } from '../../core/rng.js';
import type { Variable } from '../../core/variable.js';
import { cachedAttention, splitHeads } from '../transformer/attention.js';
import type { ConfigJson } from '../transformer/config.js';
import { encoderSelfAttention, keyValueHeads, unmaskedAttention } from '../transformer/cross-attention.js';
import { ACTIVATIONS, linear, mlp, type Linear } from '../transformer/layers.js';
import { decoderContext } from '../transformer/decoder.js';
import type { CausalLmDims, CausalLmInputs, CausalLmOutputs, KvPair } from '../transformer/types.js';
import type { CrossAttentionDims, EncodeOptions, EncoderDecoderModel, EncoderInputSpec } from '../encoder-decoder/types.js';
import { bindWeights, weightOf, type CheckpointWeights } from '../transformer/weights.js';
import { ignoredWhisperTensors, parseWhisperConfig, WHISPER_ARCHITECTURE, whisperInitialWeights, whisperTensors, type WhisperConfig } from './config.js';

const LN_EPS = 1e-5;

export class Whisper implements EncoderDecoderModel {
  readonly architecture = WHISPER_ARCHITECTURE;
  readonly encoderInput: EncoderInputSpec;
  readonly decoderDims: CausalLmDims;
  readonly crossDims: CrossAttentionDims;

  constructor(
    readonly config: WhisperConfig,
    /** By checkpoint name. */
    readonly weights: ReadonlyMap<string, Variable>,
  ) {
    const headDim = config.dModel / config.decoderHeads;
    // The stride-2 conv halves the frames: 3000 feature frames for 1500 encoder positions.
    this.encoderInput = { name: 'input_features', dims: [config.melBins, 2 * config.maxSourcePositions] };
    this.decoderDims = { layers: config.decoderLayers, heads: config.decoderHeads, kvHeads: config.decoderHeads, headDim, hidden: config.dModel, vocabSize: config.vocabSize, maxPositions: config.maxTargetPositions };
    this.crossDims = { heads: config.decoderHeads, headDim };
  }

  static fromCheckpoint(json: ConfigJson, weights: CheckpointWeights, where?: string): Whisper {
    const config = parseWhisperConfig(json, where);
    return new Whisper(config, bindWeights(WHISPER_ARCHITECTURE, whisperTensors(config), weights, ignoredWhisperTensors(config)));
  }

  /** Random weights (benchmarks, tests). */
  static init(config: WhisperConfig, rng: Rng): Whisper {
    return new Whisper(config, bindWeights(WHISPER_ARCHITECTURE, whisperTensors(config), whisperInitialWeights(config, rng)));
  }

  get headDim(): number {
    return this.crossDims.headDim;
  }

  checkEncoderInput(dims: readonly number[], where: string): void {
    const [mels, frames] = this.encoderInput.dims;
    if (dims.length !== 3 || dims[1] !== mels || dims[2] !== frames) {
      throw new Error(`${where}: input_features must be [batch, ${mels}, ${frames}] (${mels} mel bins, 30 s of 10 ms frames), received [${dims.join(', ')}]`);
    }
  }

  /** input_features (B, mels, 2·1500) → encoder states (B, 1500, d). */
  encode(features: Tensor, options: EncodeOptions = {}): Tensor {
    const c = this.config;
    const act = ACTIVATIONS[c.activation]!;
    const [batch, mels, frames] = features.shape;
    const conv = (x: Tensor, name: string, inChannels: number, strides: [number, number]) =>
      act(F.conv2d(x, F.reshape(this.param(`${name}.weight`), [c.dModel, inChannels, 1, 3]), this.param(`${name}.bias`), { strides, pads: [0, 1, 0, 1] }));
    let x = F.reshape(features, [batch!, mels!, 1, frames!]); // (B, mels, 1, 3000)
    x = conv(x, 'model.encoder.conv1', c.melBins, [1, 1]);
    x = conv(x, 'model.encoder.conv2', c.dModel, [1, 2]); // (B, d, 1, 1500)
    x = F.transpose(F.squeeze(x, [2]), [0, 2, 1]); // (B, 1500, d)
    x = F.add(x, this.param('model.encoder.embed_positions.weight'));
    const heads = c.encoderHeads;
    const hs = c.dModel / heads;
    for (let i = 0; i < c.encoderLayers; i++) {
      currentGraph().scope(`encoder.layers.${i}`, () => {
        const p = `model.encoder.layers.${i}`;
        const h = this.layerNorm(`${p}.self_attn_layer_norm`, x);
        const [q, k, v] = (['q', 'k', 'v'] as const).map((n) => linear(h, this.linear(`${p}.self_attn.${n}_proj`, n !== 'k'))) as [Tensor, Tensor, Tensor];
        const attended = encoderSelfAttention(q, k, v, heads, { scale: 1 / Math.sqrt(hs), fused: options.fused ?? false });
        x = F.add(x, linear(attended, this.linear(`${p}.self_attn.out_proj`)));
        x = F.add(x, mlp(this.layerNorm(`${p}.final_layer_norm`, x), this.linear(`${p}.fc1`), this.linear(`${p}.fc2`), act));
      });
    }
    return this.layerNorm('model.encoder.layer_norm', x);
  }

  /** Every decoder layer's encoder_attn K/V (B, heads, 1500, head_dim), computed once per window. */
  crossKeyValues(hidden: Tensor): KvPair[] {
    return Array.from({ length: this.config.decoderLayers }, (_, i) => {
      const p = `model.decoder.layers.${i}.encoder_attn`;
      return keyValueHeads(linear(hidden, this.linear(`${p}.k_proj`, false)), linear(hidden, this.linear(`${p}.v_proj`)), this.config.decoderHeads, this.headDim);
    });
  }

  /** One decoder call over T new tokens, with the self-attention cache and the precomputed cross K/V. */
  decode(inputs: CausalLmInputs & { cross: readonly KvPair[] }): CausalLmOutputs {
    const c = this.config;
    const act = ACTIVATIONS[c.activation]!;
    const heads = c.decoderHeads;
    const hs = this.headDim;
    const embed = this.param('model.decoder.embed_tokens.weight');
    const tokens = F.gather(embed, inputs.inputIds); // (B, T, d)
    const ctx = decoderContext(WHISPER_ARCHITECTURE, this.decoderDims, inputs);
    let x = F.add(c.scaleEmbedding ? F.mul(tokens, Math.sqrt(c.dModel)) : tokens, F.gather(this.param('model.decoder.embed_positions.weight'), ctx.positionIds));
    const present: KvPair[] = [];
    for (let i = 0; i < c.decoderLayers; i++) {
      currentGraph().scope(`decoder.layers.${i}`, () => {
        const p = `model.decoder.layers.${i}`;
        let h = this.layerNorm(`${p}.self_attn_layer_norm`, x);
        const [q, k, v] = (['q_proj', 'k_proj', 'v_proj'] as const).map((n) => splitHeads(linear(h, this.linear(`${p}.self_attn.${n}`, n !== 'k_proj')), heads, hs)) as [Tensor, Tensor, Tensor];
        const past = ctx.past[i];
        const self = cachedAttention({ heads, kvHeads: heads, headDim: hs }, { q, k, v, ...(past ? { past } : {}), bias: ctx.bias, scale: 1 / Math.sqrt(hs), newPositionsOnly: ctx.newPositionsOnly });
        present.push(self.present);
        x = F.add(x, linear(self.out, this.linear(`${p}.self_attn.out_proj`)));
        h = this.layerNorm(`${p}.encoder_attn_layer_norm`, x);
        const cq = splitHeads(linear(h, this.linear(`${p}.encoder_attn.q_proj`)), heads, hs);
        x = F.add(x, linear(unmaskedAttention(cq, inputs.cross[i]!, { scale: 1 / Math.sqrt(hs) }), this.linear(`${p}.encoder_attn.out_proj`)));
        x = F.add(x, mlp(this.layerNorm(`${p}.final_layer_norm`, x), this.linear(`${p}.fc1`), this.linear(`${p}.fc2`), act));
      });
    }
    if (inputs.logitsIndex) x = F.gather(x, inputs.logitsIndex, 1);
    x = this.layerNorm('model.decoder.layer_norm', x);
    const head = c.tieWordEmbeddings ? F.transposeLast(embed) : this.param('proj_out.weight'); // (d, V)
    return { logits: F.matmul(x, head), present };
  }

  private param(name: string): Tensor {
    return currentGraph().param(weightOf(this.weights, name));
  }

  private linear(name: string, bias = true): Linear {
    return bias ? { weight: this.param(`${name}.weight`), bias: this.param(`${name}.bias`) } : { weight: this.param(`${name}.weight`) };
  }

  private layerNorm(name: string, x: Tensor): Tensor {
    return F.layerNorm(x, this.param(`${name}.weight`), this.param(`${name}.bias`), { epsilon: LN_EPS });
  }
}
