/**
 * Weights on disk: `model.safetensors` keyed by layer path ('dense/kernel',
 * 'generator/dense_1/bias'), written atomically, and the check-then-assign
 * every loader uses.
 */
import type { Variable } from '../core/variable.js';
import { readSafetensors, writeSafetensors, type SafetensorsTensor } from '../io/safetensors.js';
import type { Layer } from './layer.js';

export const WEIGHTS_FILE = 'model.safetensors';
const FORMAT = 'forja-model';

/** Write the weights of `layer` (a model or a single layer) to a safetensors file. */
export async function saveWeights(layer: Layer, path: string): Promise<void> {
  const tensors = new Map([...weightPaths(layer)].map(([key, v]) => [key, { shape: v.shape, data: v.value }]));
  await writeSafetensors(path, tensors, { format: FORMAT });
}

/** Assign weights from a safetensors file; every weight must be there with its shape, and nothing else. */
export async function loadWeights(layer: Layer, path: string): Promise<void> {
  assignTensors(weightPaths(layer), await readWeightsFile(path), 'loadWeights', path);
}

/**
 * Assign each variable the tensor of its name, after checking that every
 * name is present with the variable's shape as F32 and that no tensor is left
 * over, so a mismatched file changes nothing. Errors start with `caller`
 * and name the `source` file.
 */
export function assignTensors(
  variables: ReadonlyMap<string, Variable>,
  tensors: ReadonlyMap<string, { shape: readonly number[]; data: unknown; dtype?: string }>,
  caller: string,
  source: string,
): void {
  for (const [key, variable] of variables) {
    const t = tensors.get(key);
    if (!t) throw new Error(`${caller}: ${source} has no tensor '${key}' (the model needs shape [${variable.shape.join(', ')}])`);
    if (t.shape.join() !== variable.shape.join()) {
      throw new Error(`${caller}: tensor '${key}' has shape [${t.shape.join(', ')}] in ${source} but the model expects [${variable.shape.join(', ')}]`);
    }
    if (!(t.data instanceof Float32Array)) throw new Error(`${caller}: tensor '${key}' in ${source} is ${t.dtype ?? 'not float32'}, expected F32`);
  }
  const unused = [...tensors.keys()].filter((k) => !variables.has(k));
  if (unused.length > 0) throw new Error(`${caller}: ${source} has tensors the model does not have: ${unused.join(', ')}`);
  for (const [key, variable] of variables) variable.assign(tensors.get(key)!.data as Float32Array, `${caller} ${source}`);
}

/**
 * Every weight of `layer` by its path: '<layer>/<weight>' for the layers of
 * a model, nested models adding their name as a prefix. A weight shared by
 * two layers is listed once.
 */
export function weightPaths(layer: Layer): Map<string, Variable> {
  const paths = new Map<string, Variable>();
  const seen = new Set<Variable>();
  const visit = (l: Layer, prefix: string): void => {
    for (const { name, variable } of l.ownWeightEntries) {
      if (seen.has(variable)) continue;
      seen.add(variable);
      paths.set(`${prefix}${l.name}/${name}`, variable);
    }
    const inner = l.scopesWeights && l !== layer ? `${prefix}${l.name}/` : prefix;
    for (const sub of l.sublayers) visit(sub, inner);
  };
  if (layer.scopesWeights) layer.sublayers.forEach((sub) => visit(sub, ''));
  else visit(layer, '');
  return paths;
}

async function readWeightsFile(path: string): Promise<Map<string, SafetensorsTensor>> {
  try {
    return await readSafetensors(path);
  } catch (err) {
    throw new Error(`loadWeights: cannot read weights ${path}: ${(err as Error).message}`, { cause: err });
  }
}
