/**
 * onnxruntime-node sessions: compile emitted graphs, feed variables, and
 * cache compiled sessions by a caller-chosen signature (e.g. batch size).
 */
import { availableParallelism } from 'node:os';
import ort from 'onnxruntime-node';
import { dtypeOfData, type TensorData } from '../core/dtype.js';
import { emitModel, type EmitOptions, type EmittedModel } from '../onnx/emit.js';
import { createCachedSession } from './model-cache.js';

export type OrtTensor = ort.Tensor;

const runtimeOptions: { threads?: number; profilePrefix?: string; spinning?: boolean } = {};

/**
 * Intra-op threads for sessions created from now on; undefined: one per core (availableParallelism).
 * Always explicit, because left to ORT the count comes with threads pinned to cores, and on a 2-core
 * machine GPT-2 small decoded at 54–57 tokens/s that way against 88–103 with 2 explicit threads (the
 * batch engine's 16-row step: 44–56 ms against 31–32).
 */
export function setThreads(threads: number | undefined): void {
  if (threads !== undefined && (!Number.isInteger(threads) || threads < 1)) {
    throw new Error(`setThreads: threads must be a positive integer, got ${threads}`);
  }
  runtimeOptions.threads = threads;
}

export function getThreads(): number | undefined {
  return runtimeOptions.threads;
}

/**
 * Whether idle intra-op threads spin, for every session created from now on, over each session's
 * own choice (SessionOptions.spinning); undefined restores those. A server sets false: its event
 * loop and clients share the cores with ORT's threads, and spinning ones take their time.
 */
export function setSpinning(spinning: boolean | undefined): void {
  runtimeOptions.spinning = spinning;
}

/**
 * ONNX Runtime's profiler for sessions created from now on: each writes a
 * Chrome-trace JSON file `${prefix}_<date>.json` when it is released
 * (undefined: off, the default). For measuring, not for production runs.
 */
export function setProfiling(prefix: string | undefined): void {
  runtimeOptions.profilePrefix = prefix;
}

export interface SessionOptions {
  /**
   * Let idle intra-op threads spin between kernels (ORT's default). Measured on
   * 2 cores: off makes training steps of small models faster (seed autoencoder,
   * 5 epochs: 0.57 s vs 0.67 s; dense GAN on 2 threads: 1.9 s vs 3.3 s), on
   * keeps LLM decode fast (47 vs 51 tokens/s for GPT-2 small).
   */
  spinning?: boolean;
}

/** A session for an emitted model; small models go through the on-disk cache of optimized models (model-cache.ts). */
export async function createSession(bytes: Uint8Array, opts: SessionOptions = {}): Promise<ort.InferenceSession> {
  return (await createCachedSession(bytes, sessionOptions(opts))).session;
}

/** ORT's options for Forja's sessions. */
export function sessionOptions(opts: SessionOptions = {}): ort.InferenceSession.SessionOptions {
  return {
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    intraOpNumThreads: runtimeOptions.threads ?? availableParallelism(),
    interOpNumThreads: 1,
    ...(runtimeOptions.profilePrefix !== undefined && { enableProfiling: true, profileFilePrefix: runtimeOptions.profilePrefix }),
    extra: { session: { intra_op: { allow_spinning: (runtimeOptions.spinning ?? opts.spinning) === false ? '0' : '1' } } },
  };
}

type OrtType = 'float32' | 'int64' | 'int32' | 'bool' | 'uint8' | 'float64' | 'float16';

export function ortTensor(type: OrtType, data: TensorData | boolean[], dims: readonly number[]): ort.Tensor {
  return new ort.Tensor(type, data as Float32Array, dims);
}

export const float32 = (data: Float32Array, dims: readonly number[]): ort.Tensor => new ort.Tensor('float32', data, dims);
export const int64 = (data: BigInt64Array | readonly number[], dims: readonly number[]): ort.Tensor =>
  new ort.Tensor('int64', data instanceof BigInt64Array ? data : BigInt64Array.from(data.map((v) => BigInt(v))), dims);

/** An ORT tensor viewing `data` (no copy). */
export function viewTensor(data: TensorData, dims: readonly number[]): ort.Tensor {
  return ortTensor(dtypeOfData(data), data, dims);
}

/**
 * An emitted graph with its session. Variables emitted as inputs are fed from
 * their current values at each run through ORT tensors cached per array (no
 * copy, no new tensor per run). One run at a time: the feed record is reused.
 */
export class CompiledGraph {
  private readonly feeds: Record<string, ort.Tensor> = {};
  // Training swaps each variable between two arrays; both keep their tensor here.
  private readonly views = new WeakMap<Float32Array, ort.Tensor>();

  private constructor(
    readonly model: EmittedModel,
    readonly session: ort.InferenceSession,
  ) {}

  static compile(opts: EmitOptions, session: SessionOptions = {}): Promise<CompiledGraph> {
    return CompiledGraph.load(emitModel(opts), opts.name ?? 'forja', session);
  }

  /** A session for a model already emitted (and perhaps rewritten, see onnx/repeat.ts). */
  static async load(model: EmittedModel, name: string, session: SessionOptions = {}): Promise<CompiledGraph> {
    try {
      return new CompiledGraph(model, await createSession(model.bytes, session));
    } catch (err) {
      throw new Error(`onnxruntime rejected the graph '${name}': ${(err as Error).message}`);
    }
  }

  /**
   * One session.run. `feeds` are the runtime inputs by name; variables are
   * added. `fetches` either names the outputs wanted or maps output names to
   * preallocated tensors that ORT writes into.
   */
  async run(
    feeds: Readonly<Record<string, ort.Tensor>>,
    fetches?: readonly string[] | Readonly<Record<string, ort.Tensor>>,
  ): Promise<Record<string, ort.Tensor>> {
    const { inputNames, variableInputs, variableInputNames } = this.model;
    for (const name of inputNames) {
      const t = feeds[name];
      if (!t) throw new Error(`run: missing input '${name}' (expected ${inputNames.join(', ')})`);
      this.feeds[name] = t;
    }
    variableInputs.forEach((v, i) => {
      this.feeds[variableInputNames[i]!] = this.view(v.value, v.shape);
    });
    const result = fetches
      ? await this.session.run(this.feeds, (Array.isArray(fetches) ? [...fetches] : fetches) as ort.InferenceSession.FetchesType)
      : await this.session.run(this.feeds);
    return result as Record<string, ort.Tensor>;
  }

  /** The cached ORT tensor viewing `data` (also for preallocated fetches). */
  view(data: Float32Array, dims: readonly number[]): ort.Tensor {
    let t = this.views.get(data);
    if (!t) {
      t = ortTensor('float32', data, dims);
      this.views.set(data, t);
    }
    return t;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

/**
 * Compiled things (sessions, runners) by key, e.g. batch size, compiled once
 * on first use; a failed compile is forgotten so the next call retries.
 */
export class CompileCache<K, V extends { release(): Promise<void> } = CompiledGraph> {
  private readonly entries = new Map<K, Promise<V>>();

  get(key: K, compile: () => Promise<V>): Promise<V> {
    let entry = this.entries.get(key);
    if (!entry) {
      entry = compile();
      this.entries.set(key, entry);
      entry.catch(() => this.entries.delete(key));
    }
    return entry;
  }

  /** Release every entry (errors of failed compiles are ignored). */
  async clear(): Promise<void> {
    const entries = [...this.entries.values()];
    this.entries.clear();
    await Promise.all(entries.map((e) => e.then((v) => v.release()).catch(() => undefined)));
  }

  get size(): number {
    return this.entries.size;
  }
}
