/**
 * Saving and loading models: `config.json` holds the architecture (layer
 * classes, their configs and the functional topology, Keras-like) and
 * `model.safetensors` the weights (nn/weights.ts). Both are written atomically.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeJsonAtomic } from '../io/atomic.js';
import { deserializeLayer, loadWeights, saveWeights, serializeLayer, WEIGHTS_FILE, type SerializedLayer } from '../nn/index.js';
import './functional.js';
import './sequential.js';
import { Model } from './model.js';

export const CONFIG_FILE = 'config.json';
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

