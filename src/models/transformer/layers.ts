/** Small building blocks shared by the architectures: linear maps, norms, MLPs. */
import type { Tensor } from '../../core/graph.js';
import * as F from '../../core/ops/index.js';

/**
 * A transform of a linear map kept outside the layer (a LoRA adapter, say):
 * it gets the input x and the plain output xW + b and returns the output.
 */
export type LinearAdapter = (x: Tensor, y: Tensor) => Tensor;
/** The adapter of each linear map, by HF module name (e.g. "transformer.h.0.attn.c_attn"), if it has one. */
export type LinearAdapters = (module: string) => LinearAdapter | undefined;

/** x ↦ x·W of a linear map computed from other weights than its float Variable (a quantized copy, say). */
export type LinearProduct = (x: Tensor) => Tensor;
/** ids ↦ rows of an embedding table computed from other weights than its float Variable. */
export type EmbeddingLookup = (ids: Tensor) => Tensor;

/**
 * Linear maps and embeddings a model computes from weights kept outside it
 * (models/quantize/), by HF module name ("transformer.h.0.attn.c_attn",
 * "lm_head", "transformer.wte"); undefined: the model's own weight.
 */
export interface ModuleOverrides {
  linear(module: string): LinearProduct | undefined;
  embedding(module: string): EmbeddingLookup | undefined;
}

export interface Linear {
  /** [in, out], or the product replacing x·W. */
  weight: Tensor | LinearProduct;
  bias?: Tensor;
  adapter?: LinearAdapter | undefined;
}

export function linear(x: Tensor, { weight, bias, adapter }: Linear): Tensor {
  const xw = typeof weight === 'function' ? weight(x) : F.matmul(x, weight);
  const y = bias ? F.add(xw, bias) : xw;
  return adapter ? adapter(x, y) : y;
}

/** RMSNorm (Llama): x / √(mean(x²) + ε) · w, in the shape ORT fuses to SimplifiedLayerNormalization. */
export function rmsNorm(x: Tensor, weight: Tensor, eps: number): Tensor {
  const meanSquare = F.mean(F.pow(x, 2), [-1], true);
  return F.mul(F.div(x, F.sqrt(F.add(meanSquare, eps))), weight);
}

export type Activation = (x: Tensor) => Tensor;

/** HF activation names (config "activation_function" / "hidden_act"). */
export const ACTIVATIONS: Readonly<Record<string, Activation>> = {
  gelu: (x) => F.gelu(x),
  gelu_new: (x) => F.gelu(x, 'tanh'),
  gelu_pytorch_tanh: (x) => F.gelu(x, 'tanh'),
  gelu_fast: (x) => F.gelu(x, 'tanh'),
  relu: F.relu,
  silu: F.silu,
  swish: F.silu,
};

/** GPT-2's MLP: proj(act(fc(x))). */
export function mlp(x: Tensor, fc: Linear, proj: Linear, act: Activation): Tensor {
  return linear(act(linear(x, fc)), proj);
}

/** Llama's gated MLP: down(act(gate(x)) · up(x)). */
export function gatedMlp(x: Tensor, gate: Linear, up: Linear, down: Linear, act: Activation): Tensor {
  return linear(F.mul(act(linear(x, gate)), linear(x, up)), down);
}
