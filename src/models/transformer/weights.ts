/**
 * Checkpoint tensors → Variables. Each architecture lists the tensors it
 * expects (checkpoint name, stored shape, whether Forja keeps it transposed);
 * binding checks every expected key is there with the right shape and that
 * nothing unexpected is left over.
 */
import { formatShape } from '../../core/shape.js';
import { Variable } from '../../core/variable.js';

export interface CheckpointTensor {
  shape: readonly number[];
  data: Float32Array;
}
export type CheckpointWeights = ReadonlyMap<string, CheckpointTensor>;

export interface ExpectedTensor {
  /** Name in the checkpoint. */
  name: string;
  /** Shape as stored in the checkpoint. */
  shape: readonly number[];
  /** nn.Linear [out, in] kept as [in, out] so the graph computes x @ W. */
  transpose?: boolean;
}

export class WeightError extends Error {
  override name = 'WeightError';
}

const sameDims = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((d, i) => d === b[i]);

/**
 * Variables for `expected`, by checkpoint name. Tensors matching `ignore`
 * (buffers such as GPT-2's attn.bias mask) may be present and are skipped.
 */
export function bindWeights(
  where: string,
  expected: readonly ExpectedTensor[],
  weights: CheckpointWeights,
  ignore: readonly RegExp[] = [],
): Map<string, Variable> {
  const bound = new Map<string, Variable>();
  for (const e of expected) {
    const t = weights.get(e.name);
    if (!t) throw new WeightError(`${where}: checkpoint has no tensor '${e.name}' (expected shape ${formatShape(e.shape)})`);
    if (!sameDims(t.shape, e.shape)) {
      throw new WeightError(`${where}: tensor '${e.name}' has shape ${formatShape(t.shape)} in the checkpoint, expected ${formatShape(e.shape)}`);
    }
    const [rows, cols] = e.shape as [number, number];
    bound.set(e.name, e.transpose ? new Variable(e.name, [cols, rows], transpose2d(t.data, rows, cols)) : new Variable(e.name, e.shape, t.data));
  }
  const leftover = [...weights.keys()].filter((k) => !bound.has(k) && !ignore.some((re) => re.test(k)));
  if (leftover.length) {
    const shown = leftover.slice(0, 5).map((k) => `'${k}' ${formatShape(weights.get(k)!.shape)}`);
    const more = leftover.length > 5 ? ` and ${leftover.length - 5} more` : '';
    throw new WeightError(`${where}: unexpected tensor${leftover.length > 1 ? 's' : ''} in the checkpoint: ${shown.join(', ')}${more}`);
  }
  return bound;
}

/** Bound variables back under their checkpoint names and layout (the inverse of bindWeights). */
export function unbindWeights(expected: readonly ExpectedTensor[], bound: ReadonlyMap<string, Variable>): Map<string, CheckpointTensor> {
  const out = new Map<string, CheckpointTensor>();
  for (const { name, shape, transpose } of expected) {
    const v = weightOf(bound, name);
    const [rows, cols] = shape as [number, number];
    out.set(name, { shape, data: transpose ? transpose2d(v.value, cols, rows) : v.value });
  }
  return out;
}

const BLOCK = 64;

/** Row-major [rows, cols] → [cols, rows], in cache-sized blocks. */
export function transpose2d(src: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(src.length);
  for (let r0 = 0; r0 < rows; r0 += BLOCK) {
    const r1 = Math.min(r0 + BLOCK, rows);
    for (let c0 = 0; c0 < cols; c0 += BLOCK) {
      const c1 = Math.min(c0 + BLOCK, cols);
      for (let r = r0; r < r1; r++) {
        for (let c = c0; c < c1; c++) out[c * rows + r] = src[r * cols + c]!;
      }
    }
  }
  return out;
}

/** Look up a bound variable; a missing name is a bug in the architecture's name map. */
export function weightOf(bound: ReadonlyMap<string, Variable>, name: string): Variable {
  const v = bound.get(name);
  if (!v) throw new WeightError(`internal: weight '${name}' was not declared in the architecture's name map`);
  return v;
}
