/**
 * A causal LM running on onnxruntime-node, implementing LanguageModel. One
 * inference graph (prefill and decode alike) is compiled once per model; the
 * KV cache stays in the ORT tensors the session returned, fed straight back in.
 */
import type ort from 'onnxruntime-node';
import type { EmitOptions } from '../onnx/emit.js';
import { CompiledGraph, float32, int64 } from '../runtime/session.js';
import type { ForwardInput, ForwardOutput, KVCache, LanguageModel } from '../text/language-model.js';
import { loadCausalLm, type CausalLmLoadOptions } from './quantize/load.js';
import type { ConfigJson } from './transformer/config.js';
import { inferenceGraph, LOGITS_INDEX, pastName, presentName } from './transformer/inference-graph.js';
import { concatPadded, cropPositions, slicePositions } from './transformer/kv-crop.js';
import type { CausalLmModel } from './transformer/types.js';

/** Per layer key then value, each (batch, n_kv_heads, length, head_dim). */
class OrtKvCache implements KVCache {
  constructor(
    readonly batch: number,
    readonly length: number,
    readonly tensors: readonly ort.Tensor[],
  ) {}
}

export class CausalLM implements LanguageModel {
  private constructor(
    readonly model: CausalLmModel,
    private readonly graph: CompiledGraph,
    /** Where the checkpoint was read from, when loaded from disk or the hub. */
    readonly dir?: string,
    readonly generationConfig?: ConfigJson,
  ) {}

  /** Load a Hugging Face checkpoint directory or hub id (a quantized one, or a float one quantized with `loadIn`). */
  static async load(dirOrId: string, opts: CausalLmLoadOptions = {}): Promise<CausalLM> {
    const { model, dir, generationConfig } = await loadCausalLm(dirOrId, opts);
    return CausalLM.fromModel(model, dir, generationConfig);
  }

  /**
   * `weights`: how Variables reach the session, default all as initializers. With
   * { variables: 'inputs', frozen }, the frozen ones are baked in and the others are read
   * from their Variables at each run (LoRA adapters switched without recompiling).
   */
  static async fromModel(model: CausalLmModel, dir?: string, generationConfig?: ConfigJson, weights: Partial<Pick<EmitOptions, 'variables' | 'frozen'>> = {}): Promise<CausalLM> {
    const graph = await CompiledGraph.compile({ ...inferenceGraph(model, { logits: 'selected' }), ...weights });
    return new CausalLM(model, graph, dir, generationConfig);
  }

  get vocabSize(): number {
    return this.model.dims.vocabSize;
  }

  get maxPositions(): number {
    return this.model.dims.maxPositions;
  }

  /** A cache with no positions, for a prefill of `batch` rows. */
  emptyCache(batch: number): KVCache {
    const { layers, kvHeads, headDim } = this.model.dims;
    const empty = Array.from({ length: 2 * layers }, () => float32(new Float32Array(0), [batch, kvHeads, 0, headDim]));
    return new OrtKvCache(batch, 0, empty);
  }

  async forward(input: ForwardInput): Promise<ForwardOutput> {
    const { batch } = input;
    const cache = this.cacheOf(input.cache ?? this.emptyCache(batch), batch);
    const steps = input.ids.length / batch;
    const total = cache.length + steps;
    const where = `${this.model.architecture}.forward`;
    if (!Number.isInteger(steps) || steps < 1) throw new Error(`${where}: ${input.ids.length} ids do not split into ${batch} rows of at least one token`);
    if (input.attentionMask.length !== batch * total) {
      throw new Error(`${where}: attentionMask has ${input.attentionMask.length} entries, expected batch ${batch} × (cache ${cache.length} + steps ${steps}) = ${batch * total}`);
    }
    if (input.positionIds.length !== batch * steps) {
      throw new Error(`${where}: positionIds has ${input.positionIds.length} entries, expected batch ${batch} × steps ${steps}`);
    }
    if (total > this.maxPositions) throw new Error(`${where}: ${total} positions exceed the model's maximum of ${this.maxPositions}`);

    const feeds: Record<string, ort.Tensor> = {
      input_ids: int64(input.ids, [batch, steps]),
      attention_mask: int64(input.attentionMask, [batch, total]),
      position_ids: int64(input.positionIds, [batch, steps]),
      [LOGITS_INDEX]: int64(input.allLogits ? BigInt64Array.from({ length: steps }, (_, i) => BigInt(i)) : BigInt64Array.of(-1n), [input.allLogits ? steps : 1]),
    };
    const { layers } = this.model.dims;
    for (let i = 0; i < layers; i++) {
      feeds[pastName(i, 'key')] = cache.tensors[2 * i]!;
      feeds[pastName(i, 'value')] = cache.tensors[2 * i + 1]!;
    }
    const out = await this.graph.run(feeds);
    const present = Array.from({ length: 2 * layers }, (_, j) => out[presentName(j >> 1, j & 1 ? 'value' : 'key')]!);
    return { logits: out.logits!.data as Float32Array, cache: new OrtKvCache(batch, total, present) };
  }

  selectCache(cache: KVCache, rows: readonly number[]): KVCache {
    const c = this.cacheOf(cache, cache.batch);
    if (rows.length === c.batch && rows.every((r, i) => r === i)) return c;
    for (const r of rows) {
      if (!Number.isInteger(r) || r < 0 || r >= c.batch) throw new Error(`selectCache: row ${r} is out of range for a cache of ${c.batch} rows`);
    }
    const tensors = c.tensors.map((t) => {
      const data = t.data as Float32Array;
      const rowSize = data.length / c.batch;
      const picked = new Float32Array(rows.length * rowSize);
      rows.forEach((r, i) => picked.set(data.subarray(r * rowSize, (r + 1) * rowSize), i * rowSize));
      return float32(picked, [rows.length, ...t.dims.slice(1)]);
    });
    return new OrtKvCache(rows.length, c.length, tensors);
  }

  cropCache(cache: KVCache, length: number): KVCache {
    const c = this.cacheOf(cache, cache.batch);
    return new OrtKvCache(c.batch, length, cropPositions(c.tensors, c.length, length, `${this.model.architecture}.cropCache`));
  }

  concatCaches(caches: readonly KVCache[]): KVCache {
    const where = `${this.model.architecture}.concatCaches`;
    const cs = caches.map((c) => this.cacheOf(c, c.batch));
    if (cs.length === 1) return cs[0]!;
    const tensors = concatPadded(cs.map((c) => c.tensors), cs.map((c) => c.length), where);
    return new OrtKvCache(cs.reduce((n, c) => n + c.batch, 0), Math.max(...cs.map((c) => c.length)), tensors);
  }

  trimCache(cache: KVCache, start: number): KVCache {
    const c = this.cacheOf(cache, cache.batch);
    const where = `${this.model.architecture}.trimCache`;
    if (!Number.isInteger(start) || start < 0 || start > c.length) {
      throw new Error(`${where}: cannot drop the first ${start} positions of a cache of ${c.length}; start must be an integer in [0, ${c.length}]`);
    }
    const tensors = slicePositions(c.tensors, c.length, start, c.length, where);
    return new OrtKvCache(c.batch, c.length - start, tensors);
  }

  async release(): Promise<void> {
    await this.graph.release();
  }

  private cacheOf(cache: KVCache, batch: number): OrtKvCache {
    if (!(cache instanceof OrtKvCache)) throw new Error(`${this.model.architecture}: the cache was not created by a CausalLM`);
    if (cache.batch !== batch) throw new Error(`${this.model.architecture}: the cache holds ${cache.batch} rows but the input has batch ${batch}`);
    return cache;
  }
}
