/**
 * A causal LM running on onnxruntime-node, implementing LanguageModel. One
 * inference graph (prefill and decode alike) is compiled once per model, in the
 * 'append' cache layout: the KV cache lives in buffers with spare capacity, fed
 * as views, and each step returns only its new positions.
 */
import type ort from 'onnxruntime-node';
import type { EmitOptions } from '../onnx/emit.js';
import { CompiledGraph, int64 } from '../runtime/session.js';
import { checkForwardInput, type ForwardInput, type ForwardOutput, type KVCache, type LanguageModel } from '../text/language-model.js';
import { loadCausalLm, type CausalLmLoadOptions } from './quantize/load.js';
import { AppendKvCache } from './transformer/append-cache.js';
import type { ConfigJson } from './transformer/config.js';
import { TokenHeadRunner } from './transformer/token-head.js';
import { appendedOutputs, inferenceGraph, LOGITS_INDEX, pastName } from './transformer/inference-graph.js';
import { checkCropLength } from './transformer/kv-crop.js';
import type { CausalLmModel } from './transformer/types.js';
export class CausalLM implements LanguageModel {
  readonly choosesTokens = true;
  private readonly head: TokenHeadRunner;

  private constructor(
    readonly model: CausalLmModel,
    private readonly graph: CompiledGraph,
    /** Where the checkpoint was read from, when loaded from disk or the hub. */
    readonly dir?: string,
    readonly generationConfig?: ConfigJson,
  ) {
    this.head = new TokenHeadRunner(graph, model.dims.vocabSize);
  }

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
    const graph = await CompiledGraph.compile({ ...inferenceGraph(model, { logits: 'selected', cache: 'append' }), ...weights });
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
    return AppendKvCache.empty(2 * layers, batch, kvHeads, headDim);
  }

  async forward(input: ForwardInput): Promise<ForwardOutput> {
    const { batch } = input;
    const cache = this.cacheOf(input.cache ?? this.emptyCache(batch), batch);
    const where = `${this.model.architecture}.forward`;
    const { steps } = checkForwardInput(input, cache.length, this.maxPositions, where);

    const feeds: Record<string, ort.Tensor> = {
      input_ids: int64(input.ids, [batch, steps]),
      position_ids: int64(input.positionIds, [batch, steps]),
      [LOGITS_INDEX]: int64(input.allLogits ? BigInt64Array.from({ length: steps }, (_, i) => BigInt(i)) : BigInt64Array.of(-1n), [input.allLogits ? steps : 1]),
    };
    const { layers } = this.model.dims;
    const { past, attentionMask, next } = cache.beginStep(steps, this.maxPositions, input.attentionMask);
    feeds.attention_mask = attentionMask;
    past.forEach((t, j) => (feeds[pastName(j >> 1, j & 1 ? 'value' : 'key')] = t));
    const out = await this.graph.run(feeds, this.head.prepare(input, feeds, where));
    next.write(steps, appendedOutputs(out, layers));
    return { ...this.head.read(input, out), cache: next };
  }

  selectCache(cache: KVCache, rows: readonly number[]): KVCache {
    const c = this.cacheOf(cache, cache.batch);
    if (rows.length === c.batch && rows.every((r, i) => r === i)) return c;
    for (const r of rows) {
      if (!Number.isInteger(r) || r < 0 || r >= c.batch) throw new Error(`selectCache: row ${r} is out of range for a cache of ${c.batch} rows`);
    }
    return c.selectRows(rows);
  }

  cropCache(cache: KVCache, length: number): KVCache {
    const c = this.cacheOf(cache, cache.batch);
    checkCropLength(c.length, length, `${this.model.architecture}.cropCache`);
    return c.crop(length);
  }

  concatCaches(caches: readonly KVCache[]): KVCache {
    const cs = caches.map((c) => this.cacheOf(c, c.batch));
    return cs.length === 1 ? cs[0]! : AppendKvCache.concatPadded(cs, `${this.model.architecture}.concatCaches`);
  }

  trimCache(cache: KVCache, start: number): KVCache {
    const c = this.cacheOf(cache, cache.batch);
    if (!Number.isInteger(start) || start < 0 || start > c.length) {
      throw new Error(`${this.model.architecture}.trimCache: cannot drop the first ${start} positions of a cache of ${c.length}; start must be an integer in [0, ${c.length}]`);
    }
    return start === 0 ? c : c.dropFirst(start);
  }

  async release(): Promise<void> {
    await this.graph.release();
  }

  private cacheOf(cache: KVCache, batch: number): AppendKvCache {
    if (!(cache instanceof AppendKvCache)) throw new Error(`${this.model.architecture}: the cache was not created by a CausalLM`);
    if (cache.batch !== batch) throw new Error(`${this.model.architecture}: the cache holds ${cache.batch} rows but the input has batch ${batch}`);
    return cache;
  }
}
