/** Reading the PyTorch goldens: Linear weights are [out, in]; Keras kernels are [in, out]. */
import assert from 'node:assert/strict';
import type { SafetensorsTensor } from '../../src/io/safetensors.js';

export function tensor(tensors: Map<string, SafetensorsTensor>, name: string): Float32Array {
  const t = tensors.get(name);
  assert.ok(t && t.data instanceof Float32Array, `golden tensor '${name}' is missing or not F32`);
  return t.data;
}

/** A torch Linear.weight [out, in] as a Keras Dense kernel [in, out]. */
export function kernelFromLinear(tensors: Map<string, SafetensorsTensor>, name: string): Float32Array {
  const [out, inp] = tensors.get(name)!.shape as [number, number];
  const w = tensor(tensors, name);
  const k = new Float32Array(w.length);
  for (let o = 0; o < out; o++) for (let i = 0; i < inp; i++) k[i * out + o] = w[o * inp + i]!;
  return k;
}

/**
 * Elementwise |a − b| ≤ rtol·|b| + atol: the fixtures README asks for about
 * 1e-5 relative. Weights near zero need the absolute term; 1e-6 is 1e-5 of the
 * weights' scale (~0.1) and under 1% of one Adam step (η ≥ 2e-4). It is needed
 * because Adam divides by √v̂ + ε: where a gradient is as small as ε, float32
 * rounding of the gradient moves the step by that much in PyTorch too.
 */
export const WEIGHT_ATOL = 1e-6;

export function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string, rtol = 1e-5, atol = 1e-7): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const b = expected[i]!;
    if (!(Math.abs(a - b) <= rtol * Math.abs(b) + atol)) assert.fail(`${what}[${i}]: ${a} vs torch ${b}`);
  }
}
