/**
 * Several LoRA adapters served from one loaded base, without reloading or
 * recompiling it. One inference session holds the base's weights as
 * initializers (as a plain CausalLM does) and reads the adapters' A and B
 * from slot Variables at each run: one slot pair per module any adapter
 * targets, of the largest rank. Each adapter is packed into arrays of the
 * slot shapes once (zero-padded, its scale folded into B, zeros where it has
 * no adapter), so switching points the slots at other arrays: no copy, no
 * compile. Runs are serialised, each with its adapter.
 *
 * Measured on GPT-2 small, r = 8 on c_attn and c_proj, 2 cores shared with
 * other jobs (ms per decoded token, medians): this switch 121 with an
 * adapter and 129 bare, a plain CausalLM 122; one compile (34 s, +1.3 GB,
 * as a plain CausalLM's 45 s); a switch 0.16 ms; an adapter costs its A and B
 * (1.8 MB). The alternative, a CausalLM per adapter, costs a compile and the
 * base's initializers again per adapter (45 s, 1.3 GB), or, with the base fed
 * as graph inputs from the one copy (0.7 s, 3 MB per adapter), about 20%
 * more per token (213 against 159 in an interleaved run: ORT can prepack
 * matrices for its kernels only when they are initializers).
 */
import { Variable } from '../../core/variable.js';
import { CausalLM } from '../causal-lm.js';
import type { ForwardInput, ForwardOutput, KVCache, LanguageModel } from '../../text/language-model.js';
import type { ConfigJson } from '../transformer/config.js';
import type { CausalLmModel } from '../transformer/types.js';
import { layerOf, loraAName, loraBName, LoraModel, type LoraLayer } from './adapter.js';
import { loraConfig } from './config.js';
import { LoraError } from './errors.js';

interface Slot {
  a: Variable;
  b: Variable;
  /** Zero arrays of the slot shapes, for adapters without this module. */
  zeroA: Float32Array;
  zeroB: Float32Array;
}

/** One adapter packed into the slots' shapes, by module. */
type Packed = Map<string, { a: Float32Array; b: Float32Array }>;

export interface AdapterSwitchOptions {
  dir?: string;
  generationConfig?: ConfigJson;
}

export class AdapterSwitch {
  private readonly packed = new Map<string, Packed>();
  private activeName: string | null = null;
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    readonly base: CausalLmModel,
    /** The one session; use `model(name)` to run it with an adapter. */
    private readonly lm: CausalLM,
    private readonly slots: ReadonlyMap<string, Slot>,
    readonly rank: number,
  ) {}

  /**
   * Compile the session for `adapters` (LoRA only: adapters with modules_to_save
   * change the base itself; serve those merged or as their own CausalLM).
   * Adapters added later must fit the slots: targets among theirs, rank at most theirs.
   */
  static async create(base: CausalLmModel, adapters: Readonly<Record<string, LoraModel>>, opts: AdapterSwitchOptions = {}): Promise<AdapterSwitch> {
    const entries = Object.entries(adapters);
    if (entries.length === 0) throw new LoraError('AdapterSwitch: give at least one adapter');
    for (const [name, lora] of entries) checkServable(name, lora, base);
    const shapes = new Map<string, { inF: number; outF: number }>();
    let rank = 0;
    for (const [, lora] of entries) {
      for (const l of lora.layers.values()) {
        shapes.set(l.module, { inF: l.a.shape[1]!, outF: l.b.shape[0]! });
        rank = Math.max(rank, l.r);
      }
    }
    const slots = new Map<string, Slot>();
    const layers = new Map<string, LoraLayer>();
    for (const [module, { inF, outF }] of shapes) {
      const slot = { a: new Variable(loraAName(module), [rank, inF]), b: new Variable(loraBName(module), [outF, rank]), zeroA: new Float32Array(rank * inF), zeroB: new Float32Array(outF * rank) };
      slots.set(module, slot);
      layers.set(module, layerOf(module, slot.a, slot.b, 1, 1));
    }
    const config = loraConfig({ r: rank, lora_alpha: rank, target_modules: [...shapes.keys()] });
    const slotted = new LoraModel(base, config, layers, base, new Map(), []);
    const lm = await CausalLM.fromModel(slotted, opts.dir, opts.generationConfig, { variables: 'inputs', frozen: new Set(base.weights.values()) });
    const sw = new AdapterSwitch(base, lm, slots, rank);
    for (const [name, lora] of entries) sw.add(name, lora);
    sw.use(null);
    return sw;
  }

  /** Register another adapter of the same base; it must fit the compiled slots. */
  add(name: string, lora: LoraModel): void {
    checkServable(name, lora, this.base);
    if (this.packed.has(name)) throw new LoraError(`AdapterSwitch: an adapter named "${name}" is already registered`);
    const packed: Packed = new Map();
    for (const l of lora.layers.values()) {
      const slot = this.slots.get(l.module);
      if (!slot) throw new LoraError(`AdapterSwitch: adapter "${name}" adapts ${l.module}, which no adapter the session was compiled for adapts; create a new AdapterSwitch`);
      if (l.r > this.rank) throw new LoraError(`AdapterSwitch: adapter "${name}" has rank ${l.r} at ${l.module}, above the session's ${this.rank}; create a new AdapterSwitch`);
      packed.set(l.module, { a: padRows(l.a.value, l.r, this.rank), b: scaledColumns(l.b.value, l.r, this.rank, l.scale) });
    }
    this.packed.set(name, packed);
  }

  get names(): string[] {
    return [...this.packed.keys()];
  }

  get active(): string | null {
    return this.activeName;
  }

  /** Point the slots at adapter `name` (null: the bare base). Costs a pointer swap per adapted module. */
  use(name: string | null): void {
    const packed = name === null ? undefined : this.packed.get(name);
    if (name !== null && !packed) throw new LoraError(`AdapterSwitch: no adapter named "${name}" (registered: ${this.names.join(', ')})`);
    for (const [module, slot] of this.slots) {
      const p = packed?.get(module);
      slot.a.assign(p ? p.a : slot.zeroA, 'AdapterSwitch.use');
      slot.b.assign(p ? p.b : slot.zeroB, 'AdapterSwitch.use');
    }
    this.activeName = name;
  }

  /**
   * A LanguageModel that runs the session with adapter `name` (null: the base).
   * Several can generate at once: their forward calls take turns, each with its adapter.
   */
  model(name: string | null): LanguageModel {
    if (name !== null && !this.packed.has(name)) throw new LoraError(`AdapterSwitch: no adapter named "${name}" (registered: ${this.names.join(', ')})`);
    const lm = this.lm;
    return {
      vocabSize: lm.vocabSize,
      maxPositions: lm.maxPositions,
      forward: (input: ForwardInput) =>
        this.exclusive(() => {
          this.use(name);
          return lm.forward(input);
        }),
      selectCache: (cache: KVCache, rows: readonly number[]) => lm.selectCache(cache, rows),
      cropCache: (cache: KVCache, length: number) => lm.cropCache(cache, length),
      concatCaches: (caches: readonly KVCache[]) => lm.concatCaches(caches),
      trimCache: (cache: KVCache, start: number) => lm.trimCache(cache, start),
    };
  }

  /** The underlying session (for emptyCache, the generation config, the directory). */
  get session(): CausalLM {
    return this.lm;
  }

  async release(): Promise<void> {
    await this.queue.catch(() => undefined);
    await this.lm.release();
  }

  // One run at a time on the session; the slots hold the running adapter until its run reads them.
  private exclusive(run: () => Promise<ForwardOutput>): Promise<ForwardOutput> {
    const next = this.queue.then(run, run);
    this.queue = next.catch(() => undefined);
    return next;
  }
}

function checkServable(name: string, lora: LoraModel, base: CausalLmModel): void {
  if (lora.base !== base) throw new LoraError(`AdapterSwitch: adapter "${name}" was loaded onto another base model object; load it onto the switch's base`);
  if (lora.saved.length) {
    throw new LoraError(`AdapterSwitch: adapter "${name}" trains modules_to_save (${lora.saved.join(', ')}), which change the base itself; serve it merged (mergeAndUnload) or as its own CausalLM`);
  }
}

/** A [r, in] matrix as [rank, in], zero rows below. */
function padRows(a: Float32Array, r: number, rank: number): Float32Array {
  const out = new Float32Array((a.length / r) * rank);
  out.set(a);
  return out;
}

/** scale · B for B [out, r], as [out, rank] with zero columns after r. */
function scaledColumns(b: Float32Array, r: number, rank: number, scale: number): Float32Array {
  const rows = b.length / r;
  const out = new Float32Array(rows * rank);
  for (let o = 0; o < rows; o++) for (let k = 0; k < r; k++) out[o * rank + k] = scale * b[o * r + k]!;
  return out;
}
