/**
 * PEFT adapter directories, both ways: adapter_config.json and
 * adapter_model.safetensors with PEFT's tensor names
 * (`base_model.model.<module>.lora_A.weight`, `.lora_B.weight`, and
 * `base_model.model.<tensor>` for modules_to_save; no `.default.` adapter
 * segment, which only PEFT's in-memory names carry).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { formatShape } from '../../core/shape.js';
import { Variable } from '../../core/variable.js';
import { writeJsonAtomic } from '../../io/atomic.js';
import { readJsonObject } from '../../io/hf-checkpoint.js';
import { loadF32, writeSafetensors, type F32Tensor, type TensorToWrite } from '../../io/safetensors.js';
import type { CausalLmModel } from '../transformer/types.js';
import { transpose2d } from '../transformer/weights.js';
import { layerOf, loraAName, loraBName, LoraModel, type LoraLayer } from './adapter.js';
import { loraConfigJson, moduleScaling, parseLoraConfig, type LoraConfig } from './config.js';
import { LoraError, LoraMismatchError } from './errors.js';
import { peftName, savedTensors, withSavedModules, type SavedTensor } from './modules-to-save.js';
import { HEAD, linearModules, loraArchitecture, moduleNames, moduleOf, resolveTargets } from './targets.js';

export const ADAPTER_CONFIG_FILE = 'adapter_config.json';
export const ADAPTER_WEIGHTS_FILE = 'adapter_model.safetensors';

const PREFIX = 'base_model.model.';

/** Read a PEFT adapter directory onto `base` (whose Variables are shared, not copied). */
export async function loadLoraAdapter(dir: string, base: CausalLmModel): Promise<LoraModel> {
  const configPath = join(dir, ADAPTER_CONFIG_FILE);
  const weightsPath = join(dir, ADAPTER_WEIGHTS_FILE);
  if (!existsSync(configPath)) throw new LoraError(`${dir}: no ${ADAPTER_CONFIG_FILE}, so this is not a PEFT adapter directory`);
  if (!existsSync(weightsPath)) {
    const legacy = existsSync(join(dir, 'adapter_model.bin')) ? ' (adapter_model.bin is a pickle, which Forja does not read: save it with safe_serialization=True)' : '';
    throw new LoraError(`${dir}: no ${ADAPTER_WEIGHTS_FILE}${legacy}`);
  }
  const config = parseLoraConfig(await readJsonObject(configPath, true), configPath);
  return loraFromTensors(base, config, await loadF32(weightsPath), weightsPath);
}

const sameData = (a: Float32Array, b: Float32Array): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

/**
 * Adapters from PEFT-named tensors. Every tensor must be used and every
 * adapted module must have its A and B, with the shapes the base needs:
 * a mismatch (another hidden size or layer count) names both shapes.
 */
export function loraFromTensors(base: CausalLmModel, config: LoraConfig, tensors: ReadonlyMap<string, F32Tensor>, where: string): LoraModel {
  const arch = loraArchitecture(base);
  const { config: resolved, targets, saved: savedByConfig } = resolveTargets(config, base);
  const left = new Map(tensors);
  const take = (name: string): F32Tensor | undefined => {
    const t = left.get(name);
    left.delete(name);
    return t;
  };

  // Base tensors in the file replace the base's: modules_to_save, or embeddings PEFT saved after a resize.
  const baseTensors = new Set([...arch.tensors.map((t) => t.name), `${HEAD}.weight`]);
  const saved = new Set(savedByConfig);
  for (const name of tensors.keys()) {
    if (name.startsWith(PREFIX) && baseTensors.has(name.slice(PREFIX.length))) saved.add(moduleOf(name.slice(PREFIX.length)));
  }
  const embeddingRows = (tensors.get(peftName(`${arch.embedding}.weight`)) ?? tensors.get(peftName(`${HEAD}.weight`)))?.shape[0];
  const vocabSize = embeddingRows ?? base.dims.vocabSize;
  const embedding = tensors.get(peftName(`${arch.embedding}.weight`));
  const head = tensors.get(peftName(`${HEAD}.weight`));
  const untie = arch.tied && embedding !== undefined && head !== undefined && !sameData(embedding.data, head.data);
  const savedList = moduleNames(arch).filter((m) => saved.has(m));
  const swapped = withSavedModules(base, arch, savedList, vocabSize, untie);
  const swappedArch = loraArchitecture(swapped.model);
  for (const t of savedTensors(swappedArch, savedList, swapped.model)) {
    const target = t.from === t.name ? swapped.variables.get(t.name) : undefined;
    const file = take(peftName(t.name));
    if (!file) throw missing(where, peftName(t.name), t.shape, `modules_to_save names ${moduleOf(t.name)}`);
    checkShape(where, peftName(t.name), file.shape, t.shape, base, `module ${moduleOf(t.name)}`);
    // A tied head that stays tied was checked equal to the embedding above; it has no Variable of its own.
    if (target) target.assign(t.transpose ? transpose2d(file.data, t.shape[0]!, t.shape[1]!) : file.data, where);
  }

  const layers = new Map<string, LoraLayer>();
  const sizes = new Map(linearModules(swapped.model, swappedArch).map((m) => [m.name, m]));
  for (const m of targets) {
    const { r, alpha, scale } = moduleScaling(resolved, m.name);
    const { inFeatures, outFeatures } = sizes.get(m.name)!;
    const a = takeMatrix(where, loraAName(m.name), [r, inFeatures], take, base, m.name);
    const b = takeMatrix(where, loraBName(m.name), [outFeatures, r], take, base, m.name);
    layers.set(m.name, layerOf(m.name, a, b, alpha, scale));
  }
  if (left.size) throw unexpected(where, [...left], base, resolved);
  return new LoraModel(base, { ...resolved, modules_to_save: resolved.modules_to_save ?? (savedList.length ? savedList.map(lastName) : null) }, layers, swapped.model, swapped.variables, savedList);
}

const lastName = (module: string): string => module.slice(module.lastIndexOf('.') + 1);

function takeMatrix(where: string, name: string, shape: [number, number], take: (n: string) => F32Tensor | undefined, base: CausalLmModel, module: string): Variable {
  const t = take(name);
  if (!t) throw missing(where, name, shape, `target_modules match ${module}`);
  checkShape(where, name, t.shape, shape, base, `module ${module}`);
  return new Variable(name, shape, t.data);
}

function checkShape(where: string, name: string, got: readonly number[], need: readonly number[], base: CausalLmModel, what: string): void {
  if (got.length === need.length && got.every((d, i) => d === need[i])) return;
  throw new LoraMismatchError(
    name,
    got,
    need,
    `${where}: tensor '${name}' has shape ${formatShape(got)}, but ${what} of this ${base.architecture} (hidden size ${base.dims.hidden}, vocabulary ${base.dims.vocabSize}) needs ${formatShape(need)}: the adapter was made for another base model`,
  );
}

function missing(where: string, name: string, shape: readonly number[], why: string): LoraMismatchError {
  return new LoraMismatchError(name, null, shape, `${where}: no tensor '${name}' ${formatShape(shape)}, though ${why}`);
}

function unexpected(where: string, left: [string, F32Tensor][], base: CausalLmModel, config: LoraConfig): LoraMismatchError {
  const [name, t] = left[0]!;
  const modules = new Set(moduleNames(loraArchitecture(base)));
  const module = name.startsWith(PREFIX) ? name.slice(PREFIX.length).replace(/\.(lora_[AB]\.)?weight$|\.bias$/, '') : name;
  const why = modules.has(module)
    ? `module ${module} exists but target_modules ${JSON.stringify(config.target_modules)} do not match it`
    : `this ${base.architecture} has no module ${module} (it has ${base.dims.layers} layers; e.g. ${[...modules].slice(0, 4).join(', ')})`;
  const more = left.length > 1 ? ` (and ${left.length - 1} more unused tensor${left.length > 2 ? 's' : ''})` : '';
  return new LoraMismatchError(name, t.shape, null, `${where}: tensor '${name}' ${formatShape(t.shape)} is not used: ${why}${more}; the adapter was made for another base model`);
}

/** The tensors `saveLoraAdapter` writes, by PEFT name, in PEFT's layouts. */
export function loraTensors(model: LoraModel): Map<string, TensorToWrite> {
  const out = new Map<string, TensorToWrite>();
  for (const l of model.layers.values()) {
    out.set(l.a.name, { shape: l.a.shape, data: l.a.value });
    out.set(l.b.name, { shape: l.b.shape, data: l.b.value });
  }
  for (const t of savedTensors(loraArchitecture(model.model), model.saved, model.model)) out.set(peftName(t.name), storedTensor(model, t));
  return out;
}

function storedTensor(model: LoraModel, t: SavedTensor): TensorToWrite {
  const v = model.model.weights.get(t.from)!;
  const [rows, cols] = t.shape as [number, number];
  return { shape: t.shape, data: t.transpose ? transpose2d(v.value, cols, rows) : v.value };
}

export interface SaveLoraOptions {
  /** Written as base_model_name_or_path (default: the config's). */
  baseModelNameOrPath?: string | null;
}

/**
 * Write `model`'s adapter as PEFT's save_pretrained does: adapter_model.safetensors
 * (metadata format "pt") then adapter_config.json (inference_mode true), each
 * atomically, so an interrupted save leaves every file whole. Returns the paths.
 */
export async function saveLoraAdapter(dir: string, model: LoraModel, opts: SaveLoraOptions = {}): Promise<string[]> {
  const config: LoraConfig = {
    ...model.config,
    inference_mode: true,
    ...(opts.baseModelNameOrPath !== undefined ? { base_model_name_or_path: opts.baseModelNameOrPath } : {}),
  };
  const weightsPath = join(dir, ADAPTER_WEIGHTS_FILE);
  const configPath = join(dir, ADAPTER_CONFIG_FILE);
  await writeSafetensors(weightsPath, loraTensors(model), { format: 'pt' });
  await writeJsonAtomic(configPath, loraConfigJson(config));
  return [configPath, weightsPath];
}
