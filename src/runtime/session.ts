/**
 * onnxruntime-node sessions: compile emitted graphs, feed variables, and
 * cache compiled sessions by a caller-chosen signature (e.g. batch size).
 */
import ort from 'onnxruntime-node';
import type { TensorData } from '../core/dtype.js';
import { emitModel, type EmitOptions, type EmittedModel } from '../onnx/emit.js';

export type OrtTensor = ort.Tensor;

const runtimeOptions: { threads?: number } = {};

/** Intra-op threads for sessions created from now on (default: ORT's choice). */
export function setThreads(threads: number | undefined): void {
  if (threads !== undefined && (!Number.isInteger(threads) || threads < 1)) {
    throw new Error(`setThreads: threads must be a positive integer, got ${threads}`);
  }
  runtimeOptions.threads = threads;
}

export function getThreads(): number | undefined {
  return runtimeOptions.threads;
}

export async function createSession(bytes: Uint8Array): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(bytes, {
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    ...(runtimeOptions.threads ? { intraOpNumThreads: runtimeOptions.threads, interOpNumThreads: 1 } : {}),
  });
}

type OrtType = 'float32' | 'int64' | 'int32' | 'bool' | 'uint8' | 'float64' | 'float16';

export function ortTensor(type: OrtType, data: TensorData | boolean[], dims: readonly number[]): ort.Tensor {
  return new ort.Tensor(type, data as Float32Array, dims);
}

export const float32 = (data: Float32Array, dims: readonly number[]): ort.Tensor => new ort.Tensor('float32', data, dims);
export const int64 = (data: BigInt64Array | readonly number[], dims: readonly number[]): ort.Tensor =>
  new ort.Tensor('int64', data instanceof BigInt64Array ? data : BigInt64Array.from(data.map((v) => BigInt(v))), dims);

/** An emitted graph with its session. Variables fed as inputs are read at each run. */
export class CompiledGraph {
  private constructor(
    readonly model: EmittedModel,
    readonly session: ort.InferenceSession,
  ) {}

  static async compile(opts: EmitOptions): Promise<CompiledGraph> {
    const model = emitModel(opts);
    try {
      return new CompiledGraph(model, await createSession(model.bytes));
    } catch (err) {
      throw new Error(`onnxruntime rejected the graph '${opts.name ?? 'forja'}': ${(err as Error).message}`);
    }
  }

  /** Run with runtime inputs by name; variables are fed from their current values. */
  async run(feeds: Record<string, ort.Tensor>, fetches?: readonly string[]): Promise<Record<string, ort.Tensor>> {
    const all: Record<string, ort.Tensor> = { ...feeds };
    for (const name of this.model.inputNames) {
      if (!(name in feeds)) throw new Error(`run: missing input '${name}' (expected ${this.model.inputNames.join(', ')})`);
    }
    this.model.variableInputs.forEach((v, i) => {
      all[this.model.variableInputNames[i]!] = new ort.Tensor('float32', v.value, v.shape);
    });
    const result = fetches ? await this.session.run(all, fetches as string[]) : await this.session.run(all);
    return result as Record<string, ort.Tensor>;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

/** Compiled graphs keyed by input signature, compiled once on first use. */
export class SessionCache<K extends string | number = string> {
  private readonly entries = new Map<K, Promise<CompiledGraph>>();

  get(key: K, compile: () => Promise<CompiledGraph>): Promise<CompiledGraph> {
    let entry = this.entries.get(key);
    if (!entry) {
      entry = compile();
      this.entries.set(key, entry);
      entry.catch(() => this.entries.delete(key));
    }
    return entry;
  }

  clear(): void {
    for (const e of this.entries.values()) void e.then((c) => c.release()).catch(() => undefined);
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }
}
