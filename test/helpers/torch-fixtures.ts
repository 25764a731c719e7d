/**
 * Loads a PyTorch golden folder, ../shared/fixtures/torch/<name>: `golden.json`
 * (architecture description, scalar results) and `golden.safetensors`
 * (initial weights `init.*`, inputs, outputs, gradients `grad.*`), all F32
 * and in PyTorch layouts.
 */
import { readFileSync } from 'node:fs';
import type { Tensor } from '../../src/core/graph.js';
import * as F from '../../src/core/ops/index.js';
import { Variable } from '../../src/core/variable.js';
import { loadF32, type F32Tensor } from '../../src/io/safetensors.js';
import { fixturePath } from './fixtures.js';

export interface TorchFixture {
  name: string;
  /** The parsed golden.json. */
  meta: Record<string, unknown>;
  tensors: Map<string, F32Tensor>;
  /** A tensor by name; throws naming the folder and the names that exist. */
  get(name: string): F32Tensor;
  /** Names that start with `prefix`, with the prefix removed (e.g. 'init.' → 'disc.0.weight'). */
  names(prefix: string): string[];
  /** A number from golden.json. */
  scalar(key: string): number;
}

export async function loadTorchFixture(name: string): Promise<TorchFixture> {
  const dir = fixturePath('torch', name);
  const meta = JSON.parse(readFileSync(`${dir}/golden.json`, 'utf8')) as Record<string, unknown>;
  const tensors = await loadF32(`${dir}/golden.safetensors`);
  return {
    name,
    meta,
    tensors,
    get(key) {
      const t = tensors.get(key);
      if (!t) throw new Error(`torch fixture '${name}': no tensor '${key}' (has ${[...tensors.keys()].join(', ')})`);
      return t;
    },
    names(prefix) {
      return [...tensors.keys()].filter((k) => k.startsWith(prefix)).map((k) => k.slice(prefix.length));
    },
    scalar(key) {
      const v = meta[key];
      if (typeof v !== 'number') throw new Error(`torch fixture '${name}': golden.json has no number '${key}' (got ${JSON.stringify(v)})`);
      return v;
    },
  };
}

/**
 * Largest |actual − expected| relative to the largest |expected| of the tensor.
 * Per-element relative error is meaningless for entries that are ~0 through
 * cancellation, so gradients are compared at the scale of the whole tensor.
 */
export function relativeError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  if (actual.length !== expected.length) throw new Error(`relativeError: ${actual.length} values vs ${expected.length} expected`);
  let maxDiff = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    maxDiff = Math.max(maxDiff, Math.abs(Number(actual[i]) - Number(expected[i])));
    scale = Math.max(scale, Math.abs(Number(expected[i])));
  }
  return scale === 0 ? maxDiff : maxDiff / scale;
}

/** One Variable per `init.<param>` tensor of the fixture, keyed by `<param>`. */
export function initialVariables(fixture: TorchFixture): Map<string, Variable> {
  return new Map(fixture.names('init.').map((n) => {
    const t = fixture.get(`init.${n}`);
    return [n, new Variable(n, t.shape, Float32Array.from(t.data))];
  }));
}

/** torch.nn.Linear: x @ Wᵀ + b with W stored [out, in]. */
export function torchLinear(x: Tensor, w: Tensor, b: Tensor): Tensor {
  return F.add(F.matmul(x, F.transpose(w, [1, 0])), b);
}
