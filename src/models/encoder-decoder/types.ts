/**
 * What an encoder-decoder architecture (ViT + GPT-2 captioning, Whisper)
 * gives the generic runtime: three graph builders over its weights. The
 * runtime traces `encode` + `crossKeyValues` into one graph run once per
 * input batch, and `decode` into one graph (prefill and each step) whose
 * self-attention cache grows while the cross-attention K/V stay fixed.
 */
import type { Tensor } from '../../core/graph.js';
import type { Variable } from '../../core/variable.js';
import type { CausalLmDims, CausalLmInputs, CausalLmOutputs, KvPair } from '../transformer/types.js';

/** The encoder's one input, e.g. pixel_values [batch, 3, 224, 224] or input_features [batch, 80, 3000]. */
export interface EncoderInputSpec {
  /** Its name in the export (transformers.js feeds it by this name). */
  name: string;
  /** Every dimension after the batch, static. */
  dims: readonly number[];
}

/** Geometry of each decoder layer's cross-attention K/V: (batch, heads, encoder positions, headDim). */
export interface CrossAttentionDims {
  heads: number;
  headDim: number;
}

export interface EncodeOptions {
  /**
   * Use ONNX Runtime's fused kernels (core/ops/fused.ts) where the architecture has them: for the
   * runtime's own inference graph. Exports for other runtimes, and training, leave it off.
   */
  fused?: boolean;
}

export interface EncoderDecoderModel {
  /** HF architecture name, e.g. "VisionEncoderDecoderModel". */
  readonly architecture: string;
  /** Every weight, by checkpoint name. */
  readonly weights: ReadonlyMap<string, Variable>;
  readonly encoderInput: EncoderInputSpec;
  /** The decoder's sizes; `layers`, `kvHeads` and `headDim` shape its self-attention cache. */
  readonly decoderDims: CausalLmDims;
  readonly crossDims: CrossAttentionDims;
  /** Throw an error naming the expected shape when an input batch has other dims ([batch, ...encoderInput.dims]). */
  checkEncoderInput(dims: readonly number[], where: string): void;
  /** Trace the encoder: input (B, ...dims) → encoder_hidden_states (B, S, C_enc), what transformers.js's encoder_model returns as last_hidden_state. */
  encode(input: Tensor, options?: EncodeOptions): Tensor;
  /** Each decoder layer's cross-attention K/V (B, heads, S, headDim) from `encode`'s output, including any encoder→decoder projection. */
  crossKeyValues(encoderHidden: Tensor): KvPair[];
  /** Trace one decoder pass: self-attention over `inputs.past` (the usual causal-LM inputs), cross-attention over `inputs.cross`. */
  decode(inputs: CausalLmInputs & { cross: readonly KvPair[] }): CausalLmOutputs;
}
