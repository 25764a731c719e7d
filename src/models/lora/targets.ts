/**
 * Which modules of a base model an adapter touches. Module names are HF's
 * (`transformer.h.0.attn.c_attn`, `model.layers.0.self_attn.q_proj`, `lm_head`),
 * and matching follows PEFT: target_modules as names or "."-suffixes, a
 * full-match regex, or "all-linear"; modules_to_save as plain suffixes of a
 * module or of one of its parents.
 */
import type { Variable } from '../../core/variable.js';
import { Gpt2, GPT2_ARCHITECTURE, gpt2Tensors } from '../gpt2/model.js';
import { Llama, llamaTensors } from '../llama/model.js';
import type { CausalLmModel } from '../transformer/types.js';
import { weightOf, type ExpectedTensor } from '../transformer/weights.js';
import { ALL_LINEAR, DEFAULT_TARGET_MODULES, fullMatcher, loraConfig, type LoraConfig } from './config.js';
import { LoraConfigError, LoraTargetError } from './errors.js';

/** The output head's module name in every HF causal LM. */
export const HEAD = 'lm_head';

/** What LoRA needs to know of an architecture beyond CausalLmModel. */
export interface LoraArchitecture {
  /** HF model_type, for PEFT's default targets. */
  modelType: string;
  /** The input embedding's module name, e.g. "transformer.wte". */
  embedding: string;
  /** Modules with 2-D weights that are not linear maps. */
  embeddings: readonly string[];
  /** The checkpoint stores linear weights [in, out] (GPT-2's Conv1D). */
  fanInFanOut: boolean;
  /** The head is the embedding, transposed. */
  tied: boolean;
  /** The model's checkpoint tensors: names, stored shapes, whether Forja keeps them transposed. */
  tensors: readonly ExpectedTensor[];
  /** The same architecture over other weights, e.g. with a resized vocabulary or an untied head. */
  rebuild(change: { vocabSize: number; tied: boolean }, weights: ReadonlyMap<string, Variable>): CausalLmModel;
}

/** A linear map of the base: y = x·W (+ b), W [in, out] in Forja's layout. */
export interface LinearModule {
  name: string;
  inFeatures: number;
  outFeatures: number;
}

/** The LoRA facts of `model` (a GPT-2 or a Llama-family model; anything else is refused). */
export function loraArchitecture(model: CausalLmModel): LoraArchitecture {
  if (model instanceof Gpt2) {
    const c = model.config;
    return {
      modelType: 'gpt2',
      embedding: 'transformer.wte',
      embeddings: ['transformer.wte', 'transformer.wpe'],
      fanInFanOut: true,
      tied: c.tieWordEmbeddings,
      tensors: gpt2Tensors(c),
      rebuild: ({ vocabSize, tied }, weights) => new Gpt2({ ...c, vocabSize, tieWordEmbeddings: tied }, weights),
    };
  }
  if (model instanceof Llama) {
    const c = model.config;
    const modelType = { LlamaForCausalLM: 'llama', Qwen2ForCausalLM: 'qwen2', MistralForCausalLM: 'mistral' }[c.architecture];
    return {
      modelType,
      embedding: 'model.embed_tokens',
      embeddings: ['model.embed_tokens'],
      fanInFanOut: false,
      tied: c.tieWordEmbeddings,
      tensors: llamaTensors(c),
      rebuild: ({ vocabSize, tied }, weights) => new Llama({ ...c, vocabSize, tieWordEmbeddings: tied }, weights),
    };
  }
  throw new LoraConfigError('base_model', `LoRA supports ${GPT2_ARCHITECTURE} and the Llama family (Llama, Qwen2, Mistral), not ${model.architecture}`);
}

export const moduleOf = (tensor: string): string => tensor.slice(0, tensor.lastIndexOf('.'));

/** Every module holding parameters, in checkpoint order, and the head (which a tied model shares with the embedding). */
export function moduleNames(arch: LoraArchitecture): string[] {
  const names = new Set(arch.tensors.map((t) => moduleOf(t.name)));
  names.add(HEAD);
  return [...names];
}

/** Every linear map, the head included (tied or not), with its sizes. */
export function linearModules(model: CausalLmModel, arch = loraArchitecture(model)): LinearModule[] {
  const out: LinearModule[] = [];
  for (const t of arch.tensors) {
    const name = moduleOf(t.name);
    if (!t.name.endsWith('.weight') || t.shape.length !== 2 || arch.embeddings.includes(name)) continue;
    const [inFeatures, outFeatures] = weightOf(model.weights, t.name).shape as [number, number];
    out.push({ name, inFeatures, outFeatures });
  }
  if (arch.tied) out.push({ name: HEAD, inFeatures: model.dims.hidden, outFeatures: model.dims.vocabSize });
  return out;
}

/** PEFT's target matching for one name: a full-match regex, or a name in the list or ending with "." + one. */
export function matchesTarget(patterns: readonly string[] | string, module: string, key = 'target_modules'): boolean {
  if (typeof patterns === 'string') return fullMatcher(key, patterns).test(module);
  return patterns.some((t) => module === t || module.endsWith(`.${t}`));
}

/** PEFT's modules_to_save matching: the module, or one of its parents, ends with one of the names. */
export function matchesModuleToSave(names: readonly string[], module: string): boolean {
  const parts = module.split('.');
  return parts.some((_, i) => {
    const prefix = parts.slice(0, i + 1).join('.');
    return names.some((n) => prefix.endsWith(n));
  });
}

/** Modules in `modules_to_save` never get an adapter (PEFT: a conflict of behaviours). */
const savedOrExcluded = (c: LoraConfig, module: string): boolean =>
  (c.exclude_modules !== null && matchesTarget(c.exclude_modules, module, 'exclude_modules')) ||
  (c.modules_to_save !== null && c.modules_to_save.some((m) => new RegExp(`(^|.*\\.)${escapeRegex(m)}($|\\..*)`).test(module)));

const escapeRegex = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

const listed = (names: readonly string[], n = 6): string => names.slice(0, n).join(', ') + (names.length > n ? `, … (${names.length} in all)` : '');

export interface ResolvedTargets {
  /** The config as the adapter will be saved: concrete target_modules, the architecture's fan_in_fan_out. */
  config: LoraConfig;
  /** The linear maps that get an adapter, in the model's order. */
  targets: LinearModule[];
  /** Modules trained in full and saved with the adapter. */
  saved: string[];
}

/**
 * Apply `config` to `model`: PEFT's defaults for the architecture, "all-linear"
 * expanded (the head left out), fan_in_fan_out set from the architecture (as
 * PEFT corrects it). Throws LoraTargetError when target_modules match no
 * linear map or match a module that is not one, or a modules_to_save name
 * matches nothing.
 */
export function resolveTargets(config: LoraConfig, model: CausalLmModel): ResolvedTargets {
  const arch = loraArchitecture(model);
  const modules = moduleNames(arch);
  const linear = linearModules(model, arch);
  let patterns: readonly string[] | string;
  if (config.target_modules === null) {
    const defaults = DEFAULT_TARGET_MODULES[arch.modelType];
    if (!defaults) throw new LoraConfigError('target_modules', `no default target_modules for model_type "${arch.modelType}": name them`);
    patterns = defaults;
  } else if (config.target_modules === ALL_LINEAR) {
    patterns = linear.filter((m) => m.name !== HEAD && !savedOrExcluded(config, m.name)).map((m) => m.name);
    if (patterns.length === 0) throw new LoraTargetError('target_modules', ALL_LINEAR, modules, `target_modules "${ALL_LINEAR}" leaves no linear map to adapt`);
  } else {
    patterns = config.target_modules;
  }
  const named = modules.filter((m) => matchesTarget(patterns, m));
  const matched = named.filter((m) => !savedOrExcluded(config, m));
  const shown = typeof patterns === 'string' ? `"${patterns}"` : JSON.stringify(patterns);
  if (named.length === 0) {
    throw new LoraTargetError('target_modules', patterns, modules, `target_modules ${shown} match no module of this ${model.architecture}; its linear maps are ${listed(linear.map((m) => m.name))}`);
  }
  if (matched.length === 0) {
    throw new LoraTargetError('target_modules', patterns, modules, `target_modules ${shown} match only ${listed(named, 3)}, which modules_to_save or exclude_modules take out; nothing is left to adapt`);
  }
  const byName = new Map(linear.map((m) => [m.name, m]));
  const notLinear = matched.filter((m) => !byName.has(m));
  if (notLinear.length) {
    throw new LoraTargetError('target_modules', patterns, modules, `target_modules ${shown} match ${listed(notLinear, 3)}, which ${notLinear.length > 1 ? 'are not linear maps' : 'is not a linear map'}; LoRA adapts linear maps only`);
  }
  const saved = config.modules_to_save === null ? [] : savedModules(config.modules_to_save, modules, model.architecture);
  const resolved = loraConfig({ ...config, target_modules: typeof patterns === 'string' ? patterns : [...patterns], fan_in_fan_out: arch.fanInFanOut });
  return { config: resolved, targets: matched.map((m) => byName.get(m)!), saved };
}

function savedModules(names: readonly string[], modules: readonly string[], architecture: string): string[] {
  for (const n of names) {
    if (!modules.some((m) => matchesModuleToSave([n], m))) {
      throw new LoraTargetError('modules_to_save', names, modules, `modules_to_save "${n}" matches no module of this ${architecture}; its modules are ${listed(modules, 8)}`);
    }
  }
  return modules.filter((m) => matchesModuleToSave(names, m));
}
