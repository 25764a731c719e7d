/**
 * An encoder-decoder on onnxruntime-node. `encode` runs the encoder and every
 * layer's cross-attention projection once per input batch; `bind` gives a
 * LanguageModel over those inputs, so text/generate.ts drives greedy,
 * sampling and beam search unchanged. Its cache carries the cross K/V beside
 * the self-attention K/V (an AppendKvCache: each step writes back only its new
 * positions), so reordering beams reorders both (cross K/V are copied only
 * when a row moves to another encoded input's).
 */
import type ort from 'onnxruntime-node';
import { formatShape } from '../../core/shape.js';
import { CompiledGraph, float32, int64 } from '../../runtime/session.js';
import { checkForwardInput, type ForwardInput, type ForwardOutput, type KVCache, type LanguageModel } from '../../text/language-model.js';
import { AppendKvCache } from '../transformer/append-cache.js';
import { TokenHeadRunner } from '../transformer/token-head.js';
import { appendedOutputs, LOGITS_INDEX } from '../transformer/inference-graph.js';
import { checkCropLength } from '../transformer/kv-crop.js';
import { crossName, decodeGraph, encodeGraph, selfPastName } from './graphs.js';
import type { EncoderDecoderModel } from './types.js';

/** Input batch as plain data: row-major values and their dims [batch, ...encoderInput.dims]. */
export interface EncoderInput {
  data: Float32Array;
  dims: readonly number[];
}

/** The cross-attention K/V of an encoded batch: per layer key then value, (batch, heads, S, headDim). */
export class EncodedBatch {
  /** @internal Made by EncoderDecoderSession.encode. */
  constructor(
    readonly batch: number,
    /** Encoder positions S. */
    readonly length: number,
    readonly cross: readonly ort.Tensor[],
    readonly owner: EncoderDecoderSession,
  ) {}
}

class EncoderDecoderCache implements KVCache {
  constructor(
    /** Per layer self-attention key then value. */
    readonly self: AppendKvCache,
    readonly cross: readonly ort.Tensor[],
    /** The encoded input each row's cross K/V is: beams of one input share it, so reordering them within it copies nothing. */
    readonly crossRows: readonly number[],
  ) {}

  get batch(): number {
    return this.self.batch;
  }

  get length(): number {
    return this.self.length;
  }
}

const sameRows = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((r, i) => r === b[i]);

/** Rows `rows` of a tensor whose first axis is the batch. */
function pickRows(t: ort.Tensor, rows: readonly number[]): ort.Tensor {
  const data = t.data as Float32Array;
  const rowSize = data.length / t.dims[0]!;
  const picked = new Float32Array(rows.length * rowSize);
  rows.forEach((r, i) => picked.set(data.subarray(r * rowSize, (r + 1) * rowSize), i * rowSize));
  return float32(picked, [rows.length, ...t.dims.slice(1)]);
}

export class EncoderDecoderSession {
  private readonly head: TokenHeadRunner;

  private constructor(
    readonly model: EncoderDecoderModel,
    private readonly encoder: CompiledGraph,
    private readonly decoder: CompiledGraph,
  ) {
    this.head = new TokenHeadRunner(decoder, model.decoderDims.vocabSize);
  }

  static async fromModel(model: EncoderDecoderModel): Promise<EncoderDecoderSession> {
    const encoder = await CompiledGraph.compile(encodeGraph(model));
    try {
      return new EncoderDecoderSession(model, encoder, await CompiledGraph.compile(decodeGraph(model)));
    } catch (err) {
      await encoder.release();
      throw err;
    }
  }

  /** Run the encoder once over a batch; throws naming the expected shape when `input.dims` is not [batch, ...encoderInput.dims]. */
  async encode(input: EncoderInput): Promise<EncodedBatch> {
    const where = `${this.model.architecture}.encode`;
    this.model.checkEncoderInput(input.dims, where);
    const size = input.dims.reduce((a, b) => a * b, 1);
    if (input.data.length !== size) throw new Error(`${where}: ${input.data.length} values do not fill shape ${formatShape(input.dims)} (${size} values)`);
    const out = await this.encoder.run({ [this.model.encoderInput.name]: float32(input.data, input.dims) });
    const cross = Array.from({ length: 2 * this.model.decoderDims.layers }, (_, j) => out[crossName(j >> 1, j & 1 ? 'value' : 'key')]!);
    return new EncodedBatch(input.dims[0]!, cross[0]!.dims[2]!, cross, this);
  }

  /** A LanguageModel whose prompt row r attends to input r of `encoded`. */
  bind(encoded: EncodedBatch): LanguageModel {
    if (encoded.owner !== this) throw new Error(`${this.model.architecture}: the encoded batch comes from another session`);
    return new BoundDecoder(this.model, this.decoder, this.head, encoded);
  }

  async release(): Promise<void> {
    await this.encoder.release();
    await this.decoder.release();
  }
}

/** The decoder over one encoded batch. */
class BoundDecoder implements LanguageModel {
  readonly choosesTokens = true;

  constructor(
    private readonly model: EncoderDecoderModel,
    private readonly graph: CompiledGraph,
    private readonly head: TokenHeadRunner,
    private readonly encoded: EncodedBatch,
  ) {}

  get vocabSize(): number {
    return this.model.decoderDims.vocabSize;
  }

  get maxPositions(): number {
    return this.model.decoderDims.maxPositions;
  }

  async forward(input: ForwardInput): Promise<ForwardOutput> {
    const { batch } = input;
    const where = `${this.model.architecture}.forward`;
    const cache = input.cache ? this.cacheOf(input.cache, batch) : this.firstCache(batch, where);
    const { steps } = checkForwardInput(input, cache.length, this.maxPositions, where, 'decoder');

    const logitsIndex = input.allLogits ? BigInt64Array.from({ length: steps }, (_, i) => BigInt(i)) : BigInt64Array.of(-1n);
    const feeds: Record<string, ort.Tensor> = {
      input_ids: int64(input.ids, [batch, steps]),
      position_ids: int64(input.positionIds, [batch, steps]),
      [LOGITS_INDEX]: int64(logitsIndex, [logitsIndex.length]),
    };
    const { layers } = this.model.decoderDims;
    const { past, attentionMask, next } = cache.self.beginStep(steps, this.maxPositions, input.attentionMask);
    feeds.attention_mask = attentionMask;
    for (let i = 0; i < layers; i++) {
      feeds[selfPastName(i, 'key')] = past[2 * i]!;
      feeds[selfPastName(i, 'value')] = past[2 * i + 1]!;
      feeds[crossName(i, 'key')] = cache.cross[2 * i]!;
      feeds[crossName(i, 'value')] = cache.cross[2 * i + 1]!;
    }
    const out = await this.graph.run(feeds, this.head.prepare(input, feeds, where));
    next.write(steps, appendedOutputs(out, layers));
    return { ...this.head.read(input, out), cache: new EncoderDecoderCache(next, cache.cross, cache.crossRows) };
  }

  selectCache(cache: KVCache, rows: readonly number[]): KVCache {
    const c = this.cacheOf(cache, cache.batch);
    if (rows.length === c.batch && rows.every((r, i) => r === i)) return c;
    for (const r of rows) {
      if (!Number.isInteger(r) || r < 0 || r >= c.batch) throw new Error(`selectCache: row ${r} is out of range for a cache of ${c.batch} rows`);
    }
    const crossRows = rows.map((r) => c.crossRows[r]!);
    const cross = sameRows(crossRows, c.crossRows) ? c.cross : this.encoded.cross.map((t) => pickRows(t, crossRows));
    return new EncoderDecoderCache(c.self.selectRows(rows), cross, crossRows);
  }

  cropCache(cache: KVCache, length: number): KVCache {
    const c = this.cacheOf(cache, cache.batch);
    checkCropLength(c.length, length, `${this.model.architecture}.cropCache`);
    return new EncoderDecoderCache(c.self.crop(length), c.cross, c.crossRows);
  }

  /** The prompt's cache: no self-attention positions, the encoded batch's cross K/V. */
  private firstCache(batch: number, where: string): EncoderDecoderCache {
    if (batch !== this.encoded.batch) {
      throw new Error(`${where}: ${batch} prompt rows for ${this.encoded.batch} encoded inputs; give one prompt per input (beam search expands them itself)`);
    }
    const { layers, kvHeads, headDim } = this.model.decoderDims;
    const empty = AppendKvCache.empty(2 * layers, batch, kvHeads, headDim);
    return new EncoderDecoderCache(empty, this.encoded.cross, Array.from({ length: batch }, (_, r) => r));
  }

  private cacheOf(cache: KVCache, batch: number): EncoderDecoderCache {
    if (!(cache instanceof EncoderDecoderCache)) throw new Error(`${this.model.architecture}: the cache was not created by this encoder-decoder`);
    if (cache.batch !== batch) throw new Error(`${this.model.architecture}: the cache holds ${cache.batch} rows but the input has batch ${batch}`);
    return cache;
  }
}
