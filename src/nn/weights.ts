/**
 * Saving and loading models: `config.json` holds the architecture (layer
 * classes, their configs and the functional topology, Keras-like) and
 * `model.safetensors` the weights, keyed by layer path ('dense/kernel',
 * 'generator/dense_1/bias'). Both are written atomically.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Variable } from '../core/variable.js';
import { writeJsonAtomic } from '../io/atomic.js';
import { readSafetensors, writeSafetensors, type SafetensorsTensor } from '../io/safetensors.js';
import './layers/index.js';
import './functional.js';
import './sequential.js';
import type { Layer } from './layer.js';
import { Model } from './model.js';
import { deserializeLayer, serializeLayer, type SerializedLayer } from './registry.js';

export const CONFIG_FILE = 'config.json';
export const WEIGHTS_FILE = 'model.safetensors';
const FORMAT = 'forja-model';
const FORMAT_VERSION = 1;

interface SavedConfig extends SerializedLayer {
  format: string;
  formatVersion: number;
}

/** Write `dir/config.json` and `dir/model.safetensors`. */
export async function saveModel(model: Model, dir: string): Promise<void> {
  const config: SavedConfig = { format: FORMAT, formatVersion: FORMAT_VERSION, ...serializeLayer(model) };
  await writeJsonAtomic(join(dir, CONFIG_FILE), config, { indent: 2 });
  await saveWeights(model, join(dir, WEIGHTS_FILE));
}

/** Rebuild the model saved in `dir`, with its weights. */
export async function loadModel(dir: string): Promise<Model> {
  const configPath = join(dir, CONFIG_FILE);
  const config = await readConfig(configPath);
  const layer = deserializeLayer(config, configPath);
  if (!(layer instanceof Model)) throw new Error(`loadModel: ${configPath} describes a ${config.className}, not a model`);
  await loadWeights(layer, join(dir, WEIGHTS_FILE));
  return layer;
}

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
    const inner = l instanceof Model && l !== layer ? `${prefix}${l.name}/` : prefix;
    for (const sub of l.sublayers) visit(sub, inner);
  };
  if (layer instanceof Model) layer.sublayers.forEach((sub) => visit(sub, ''));
  else visit(layer, '');
  return paths;
}

async function readConfig(path: string): Promise<SavedConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new Error(`loadModel: cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new Error(`loadModel: ${path} is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  if (!isSavedConfig(parsed)) throw new Error(`loadModel: ${path} is not a Forja model config (expected "format": "${FORMAT}")`);
  if (parsed.formatVersion > FORMAT_VERSION) throw new Error(`loadModel: ${path} has format version ${parsed.formatVersion}; this Forja reads up to ${FORMAT_VERSION}`);
  return parsed;
}

function isSavedConfig(x: unknown): x is SavedConfig {
  if (typeof x !== 'object' || x === null) return false;
  const c = x as Record<string, unknown>;
  return c.format === FORMAT && typeof c.formatVersion === 'number' && typeof c.className === 'string' && typeof c.config === 'object' && c.config !== null;
}

async function readWeightsFile(path: string): Promise<Map<string, SafetensorsTensor>> {
  try {
    return await readSafetensors(path);
  } catch (err) {
    throw new Error(`loadWeights: cannot read weights ${path}: ${(err as Error).message}`, { cause: err });
  }
}
