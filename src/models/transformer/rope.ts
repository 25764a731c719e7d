/**
 * Rotary position embeddings (RoPE) as in HF Llama: the cos/sin tables are
 * computed in the graph from position_ids, so left-padded rows rotate by their
 * own positions.
 */
import { currentGraph, type Tensor } from '../../core/graph.js';
import * as F from '../../core/ops/index.js';
import { ConfigError, type ConfigReader } from './config.js';

export interface RopeTables {
  /** [B, T, 1, head_dim], broadcast over heads. */
  cos: Tensor;
  sin: Tensor;
}

/** θ^(−2i/d) for i < d/2, rounded to float32 the way torch computes it. */
export function defaultInverseFrequencies(headDim: number, theta: number): Float32Array {
  const out = new Float32Array(headDim / 2);
  for (let i = 0; i < out.length; i++) out[i] = 1 / Math.fround(theta ** Math.fround((2 * i) / headDim));
  return out;
}

/** Llama 3's frequency-dependent rescaling (rope_type "llama3"). */
function llama3Frequencies(base: Float32Array, params: ConfigReader): Float32Array {
  const factor = params.number('factor');
  const low = params.number('low_freq_factor');
  const high = params.number('high_freq_factor');
  const context = params.number('original_max_position_embeddings');
  const lowWavelen = context / low;
  const highWavelen = context / high;
  return base.map((f) => {
    const wavelen = (2 * Math.PI) / f;
    if (wavelen < highWavelen) return f;
    if (wavelen > lowWavelen) return f / factor;
    const smooth = (context / wavelen - low) / (high - low);
    return (1 - smooth) * (f / factor) + smooth * f;
  });
}

/**
 * Inverse frequencies from a config: θ from rope_parameters (transformers 5)
 * or top-level rope_theta (older), scaling from rope_parameters/rope_scaling.
 */
export function ropeFrequencies(config: ConfigReader, headDim: number): Float32Array {
  const params = config.object('rope_parameters') ?? config.object('rope_scaling');
  const theta = params?.has('rope_theta') ? params.number('rope_theta') : config.number('rope_theta', 10000);
  const base = defaultInverseFrequencies(headDim, theta);
  const type = params ? params.string('rope_type', params.has('type') ? params.string('type') : 'default') : 'default';
  switch (type) {
    case 'default':
      return base;
    case 'linear':
      return base.map((f) => f / params!.number('factor'));
    case 'llama3':
      return llama3Frequencies(base, params!);
    default:
      throw new ConfigError(`${config.where}: rope_type "${type}" is not supported (supported: default, linear, llama3)`);
  }
}

/** cos/sin of position · frequency, duplicated over both halves of head_dim. */
export function ropeTables(positionIds: Tensor, inverseFrequencies: Float32Array): RopeTables {
  const freqs = F.mul(
    F.unsqueeze(F.cast(positionIds, 'float32'), [2]), // (B, T, 1)
    currentGraph().constant(inverseFrequencies, [inverseFrequencies.length], 'float32'),
  ); // (B, T, hs/2)
  const angles = F.unsqueeze(F.concat([freqs, freqs], -1), [2]); // (B, T, 1, hs)
  return { cos: F.cos(angles), sin: F.sin(angles) };
}

/** Rotate x (B, T, heads, hs): x·cos + rotate_half(x)·sin. */
export function applyRope(x: Tensor, { cos, sin }: RopeTables): Tensor {
  const [first, second] = F.splitEqual(x, 2, -1) as [Tensor, Tensor];
  const rotated = F.concat([F.neg(second), first], -1);
  return F.add(F.mul(x, cos), F.mul(rotated, sin));
}
