/**
 * LoRA adapters as Variables over a frozen base (Hu et al., 2021, as PEFT
 * computes it): each adapted linear map gives y = x·W + b + s·(dropout(x)·Aᵀ)·Bᵀ
 * with A [r, in] and B [out, r] in PEFT's layout (lora_A.weight,
 * lora_B.weight) and s = lora_alpha / r (lora_alpha / √r with use_rslora).
 * The term is a LinearAdapter the base model applies by module name, so the
 * base's layers know nothing of LoRA and its weights are never copied.
 */
import { currentGraph, type Tensor } from '../../core/graph.js';
import * as F from '../../core/ops/index.js';
import { Rng } from '../../core/rng.js';
import { Variable } from '../../core/variable.js';
import type { LinearAdapters } from '../transformer/layers.js';
import type { CausalLmDims, CausalLmInputs, CausalLmModel, CausalLmOutputs } from '../transformer/types.js';
import { loraConfig, moduleScaling, type LoraConfig, type LoraOptions } from './config.js';
import { withSavedModules } from './modules-to-save.js';
import { HEAD, loraArchitecture, resolveTargets, type LinearModule } from './targets.js';

/** One adapted linear map: PEFT's lora_A and lora_B of one module. */
export interface LoraLayer {
  /** HF module name, e.g. "transformer.h.0.attn.c_attn". */
  module: string;
  /** [r, in], named `base_model.model.<module>.lora_A.weight` as in PEFT's files. */
  a: Variable;
  /** [out, r], named `base_model.model.<module>.lora_B.weight`. */
  b: Variable;
  r: number;
  alpha: number;
  /** alpha / r, or alpha / √r with use_rslora. */
  scale: number;
}

export const loraAName = (module: string): string => `base_model.model.${module}.lora_A.weight`;
export const loraBName = (module: string): string => `base_model.model.${module}.lora_B.weight`;

export interface LoraInputs extends CausalLmInputs {
  /** Training only: applied to each adapted map's input before lora_A (PEFT's lora_dropout); see `loraDropout`. */
  loraDropout?: (x: Tensor) => Tensor;
}

/**
 * A base model with LoRA adapters (and PEFT's modules_to_save). `forward`
 * traces the base's graph with the adapter terms added; the base's Variables
 * are shared, never copied, and only `trainableVariables` should be trained.
 */
export class LoraModel implements CausalLmModel {
  constructor(
    /** The frozen model the adapters were made for. */
    readonly base: CausalLmModel,
    /** The config as saved: concrete target_modules, the architecture's fan_in_fan_out. */
    readonly config: LoraConfig,
    /** By module name, in the model's order. */
    readonly layers: ReadonlyMap<string, LoraLayer>,
    /** The base with the modules_to_save copies swapped in (the base itself when there are none). */
    readonly model: CausalLmModel,
    /** modules_to_save copies, by checkpoint tensor name. */
    readonly savedModules: ReadonlyMap<string, Variable>,
    /** Module names of modules_to_save, resolved. */
    readonly saved: readonly string[],
  ) {}

  get architecture(): string {
    return this.model.architecture;
  }

  get dims(): CausalLmDims {
    return this.model.dims;
  }

  /** The adapted model's weights by checkpoint name (base Variables, and the modules_to_save copies in their place). */
  get weights(): ReadonlyMap<string, Variable> {
    return this.model.weights;
  }

  /** What trains: every A and B (module order), then the modules_to_save copies. */
  get trainableVariables(): Variable[] {
    return [...[...this.layers.values()].flatMap((l) => [l.a, l.b]), ...this.savedModules.values()];
  }

  get trainableParameterCount(): number {
    return this.trainableVariables.reduce((n, v) => n + v.size, 0);
  }

  /** Base and adapter parameters, each counted once (a tied head once). */
  get parameterCount(): number {
    const all = new Set<Variable>([...this.base.weights.values(), ...this.model.weights.values(), ...this.trainableVariables]);
    return [...all].reduce((n, v) => n + v.size, 0);
  }

  forward(inputs: LoraInputs): CausalLmOutputs {
    const { loraDropout, ...rest } = inputs;
    const own = this.adapters(loraDropout);
    const outer = inputs.adapters;
    // An adapter the caller passes wraps the LoRA term, so both apply.
    const adapters: LinearAdapters = outer ? (m) => compose(own(m), outer(m)) : own;
    return this.model.forward({ ...rest, adapters });
  }

  /** The graph hook: the LoRA term of each adapted module. */
  adapters(dropout?: (x: Tensor) => Tensor): LinearAdapters {
    return (module) => {
      const layer = this.layers.get(module);
      if (!layer) return undefined;
      return (x, y) => {
        const g = currentGraph();
        const h = F.matmul(dropout ? dropout(x) : x, F.transposeLast(g.param(layer.a))); // (…, r)
        return F.add(y, F.matmul(F.mul(h, layer.scale), F.transposeLast(g.param(layer.b)))); // (…, out)
      };
    };
  }
}

const compose = (inner: ((x: Tensor, y: Tensor) => Tensor) | undefined, outer: ((x: Tensor, y: Tensor) => Tensor) | undefined) =>
  inner && outer ? (x: Tensor, y: Tensor) => outer(x, inner(x, y)) : inner ?? outer;

/** PEFT's lora_dropout for a training graph: one seeded Dropout per adapted map (two nodes with one seed would share a mask). */
export function loraDropout(rate: number, seed: number): ((x: Tensor) => Tensor) | undefined {
  if (rate === 0) return undefined;
  let site = 0;
  return (x) => F.dropout(x, rate, { training: true, seed: seed * 1000 + 500 + site++ });
}

export interface CreateLoraOptions {
  /** Seeds lora_A's initialisation (default 0); the same seed gives the same adapter. */
  seed?: number;
  /** Resize the vocabulary (added tokens): the embedding and head join modules_to_save. */
  vocabSize?: number;
}

/**
 * New adapters on `base` (PEFT's get_peft_model): targets resolved from
 * `options` (PEFT's defaults for the architecture), A initialised as
 * `init_lora_weights` says (kaiming-uniform with a = √5 by default, so
 * U(−1/√in, 1/√in)), B zero, so the model starts as the base. With
 * `vocabSize` above the base's, the embedding and head are resized (new rows
 * the mean of the old, see resizeRows) and saved through modules_to_save.
 */
export function createLora(base: CausalLmModel, options: LoraOptions = {}, opts: CreateLoraOptions = {}): LoraModel {
  const arch = loraArchitecture(base);
  const vocabSize = opts.vocabSize ?? base.dims.vocabSize;
  let config = loraConfig(options);
  if (vocabSize !== base.dims.vocabSize) config = withResizedModules(config, arch.embedding);
  const { config: resolved, targets, saved } = resolveTargets(config, base);
  const swapped = withSavedModules(base, arch, saved, vocabSize);
  const rng = new Rng(opts.seed ?? 0);
  const layers = new Map<string, LoraLayer>();
  for (const m of targets) layers.set(m.name, initLayer(resolved, m, rng));
  return new LoraModel(base, resolved, layers, swapped.model, swapped.variables, saved);
}

/** modules_to_save plus the embedding and the head (by their last name, as PEFT users write them). */
function withResizedModules(config: LoraConfig, embedding: string): LoraConfig {
  const names = [...(config.modules_to_save ?? [])];
  for (const n of [embedding.slice(embedding.lastIndexOf('.') + 1), HEAD]) if (!names.includes(n)) names.push(n);
  return loraConfig({ ...config, modules_to_save: names });
}

function initLayer(c: LoraConfig, m: LinearModule, rng: Rng): LoraLayer {
  const { r, alpha, scale } = moduleScaling(c, m.name);
  const a = new Float32Array(r * m.inFeatures);
  const b = new Float32Array(m.outFeatures * r);
  if (c.init_lora_weights === 'gaussian') for (let i = 0; i < a.length; i++) a[i] = rng.normal() / r;
  else uniform(a, 1 / Math.sqrt(m.inFeatures), rng);
  // init_lora_weights false keeps nn.Linear's own init for B too: kaiming-uniform over its fan-in r.
  if (c.init_lora_weights === false) uniform(b, 1 / Math.sqrt(r), rng);
  return layerOf(m.name, new Variable(loraAName(m.name), [r, m.inFeatures], a), new Variable(loraBName(m.name), [m.outFeatures, r], b), alpha, scale);
}

export function layerOf(module: string, a: Variable, b: Variable, alpha: number, scale: number): LoraLayer {
  return { module, a, b, r: a.shape[0]!, alpha, scale };
}

function uniform(out: Float32Array, bound: number, rng: Rng): void {
  for (let i = 0; i < out.length; i++) out[i] = (2 * rng.next() - 1) * bound;
}
