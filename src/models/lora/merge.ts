/**
 * Folding adapters into the base (PEFT's merge_and_unload), and the plain
 * checkpoint of the result. In Forja's [in, out] layout every update is
 * W ← W + s·(B·A)ᵀ; the checkpoint layout (GPT-2's Conv1D [in, out], i.e.
 * fan_in_fan_out, or nn.Linear's [out, in]) is restored on writing.
 */
import { Variable } from '../../core/variable.js';
import type { ConfigJson } from '../transformer/config.js';
import type { CausalLmModel } from '../transformer/types.js';
import { transpose2d, unbindWeights, weightOf, type CheckpointTensor } from '../transformer/weights.js';
import type { LoraLayer, LoraModel } from './adapter.js';
import { HEAD, loraArchitecture } from './targets.js';

/** W + s·(B·A)ᵀ for W [in, out], A [r, in], B [out, r]; sums of r products in float64. */
export function mergedWeight(w: Float32Array, layer: LoraLayer): Float32Array {
  const [r, inF] = layer.a.shape as [number, number];
  const outF = layer.b.shape[0]!;
  if (w.length !== inF * outF) throw new Error(`internal: ${layer.module} weight has ${w.length} elements, the adapter maps ${inF} → ${outF}`);
  const a = layer.a.value;
  const bt = transpose2d(layer.b.value, outF, r); // [r, out]
  const out = new Float32Array(w);
  const row = new Float64Array(outF);
  for (let i = 0; i < inF; i++) {
    row.fill(0);
    for (let k = 0; k < r; k++) {
      const aki = a[k * inF + i]!;
      const src = k * outF;
      for (let o = 0; o < outF; o++) row[o]! += aki * bt[src + o]!;
    }
    const dst = i * outF;
    for (let o = 0; o < outF; o++) out[dst + o] = out[dst + o]! + layer.scale * row[o]!;
  }
  return out;
}

/**
 * A plain model computing what `model` computes without adapter terms: the
 * adapted weights merged (new Variables), the modules_to_save copies in place,
 * every other weight the base's own Variable (shared, not copied). An adapter
 * on a tied head unties it, so the embedding keeps its values.
 */
export function mergeAndUnload(model: LoraModel): CausalLmModel {
  const inner = model.model;
  const arch = loraArchitecture(inner);
  const weights = new Map<string, Variable>();
  // Plain checkpoint names for the modules_to_save copies (their Variables carry PEFT's names).
  for (const [name, v] of inner.weights) weights.set(name, v.name === name ? v : new Variable(name, v.shape, v.value));
  let untie = false;
  for (const layer of model.layers.values()) {
    const name = `${layer.module}.weight`;
    if (layer.module === HEAD && arch.tied) {
      const wte = weightOf(inner.weights, `${arch.embedding}.weight`);
      const [vocab, hidden] = wte.shape as [number, number];
      weights.set(name, new Variable(name, [hidden, vocab], mergedWeight(transpose2d(wte.value, vocab, hidden), layer)));
      untie = true;
      continue;
    }
    const w = weightOf(inner.weights, name);
    weights.set(name, new Variable(name, w.shape, mergedWeight(w.value, layer)));
  }
  return arch.rebuild({ vocabSize: inner.dims.vocabSize, tied: arch.tied && !untie }, weights);
}

/**
 * config.json and model.safetensors tensors (checkpoint names and layouts)
 * for `model`, from the config its base was loaded with: vocab_size and
 * tie_word_embeddings follow the model, every other key is kept.
 */
export function plainCheckpoint(model: CausalLmModel, baseConfig: ConfigJson): { config: ConfigJson; weights: Map<string, CheckpointTensor> } {
  const arch = loraArchitecture(model);
  const config = { ...baseConfig, vocab_size: model.dims.vocabSize, tie_word_embeddings: arch.tied };
  return { config, weights: unbindWeights(arch.tensors, model.weights) };
}
