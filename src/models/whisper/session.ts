/**
 * Whisper on onnxruntime-node: an encoder graph (features → encoder states and every decoder
 * layer's cross-attention K/V) run once per batch of 30 s windows, and a decoder graph (prefill and
 * single-token steps alike) whose self-attention cache and cross K/V stay in the ORT tensors.
 * `decoderFor(encoded)` is the LanguageModel text/generate.ts drives for those windows.
 */
import type ort from 'onnxruntime-node';
import { trace } from '../../core/graph.js';
import type { EmitOptions } from '../../onnx/emit.js';
import { CompiledGraph, float32, int64 } from '../../runtime/session.js';
import type { ForwardInput, ForwardOutput, KVCache, LanguageModel } from '../../text/language-model.js';
import type { KvPair } from '../transformer/types.js';
import type { Whisper } from './model.js';

export const crossName = (layer: number, kind: 'key' | 'value'): string => `cross_key_values.${layer}.${kind}`;
const pastName = (layer: number, kind: 'key' | 'value'): string => `past_key_values.${layer}.${kind}`;
const presentName = (layer: number, kind: 'key' | 'value'): string => `present.${layer}.${kind}`;
const KINDS = ['key', 'value'] as const;

export function encoderGraph(model: Whisper): EmitOptions {
  const c = model.config;
  return trace((g) => {
    const features = g.input('input_features', ['batch_size', c.melBins, 2 * c.maxSourcePositions]);
    const { hidden, cross } = model.encode(features);
    const outputs: EmitOptions['outputs'] = { last_hidden_state: hidden };
    cross.forEach((kv, i) => KINDS.forEach((k) => (outputs[crossName(i, k)] = kv[k])));
    return { graph: g, inputs: [features], outputs, variables: 'initializers', name: 'whisper_encoder' };
  });
}

export function decoderGraph(model: Whisper): EmitOptions {
  const c = model.config;
  const hs = model.headDim;
  return trace((g) => {
    const inputIds = g.input('input_ids', ['batch_size', 'sequence_length'], 'int64');
    const positionIds = g.input('position_ids', ['batch_size', 'sequence_length'], 'int64');
    const attentionMask = g.input('attention_mask', ['batch_size', 'total_sequence_length'], 'int64');
    const layer = (name: (i: number, k: 'key' | 'value') => string, length: string): KvPair[] =>
      Array.from({ length: c.decoderLayers }, (_, i) => ({
        key: g.input(name(i, 'key'), ['batch_size', c.decoderHeads, length, hs]),
        value: g.input(name(i, 'value'), ['batch_size', c.decoderHeads, length, hs]),
      }));
    const past = layer(pastName, 'past_sequence_length');
    const cross = layer(crossName, 'encoder_sequence_length');
    const logitsIndex = g.input('logits_index', ['num_logits'], 'int64');
    const { logits, present } = model.decode({ inputIds, positionIds, attentionMask, past, cross, logitsIndex });
    const outputs: EmitOptions['outputs'] = { logits };
    present.forEach((kv, i) => KINDS.forEach((k) => (outputs[presentName(i, k)] = kv[k])));
    const inputs = [inputIds, positionIds, attentionMask, ...past.flatMap((kv) => [kv.key, kv.value]), ...cross.flatMap((kv) => [kv.key, kv.value]), logitsIndex];
    return { graph: g, inputs, outputs, variables: 'initializers', name: 'whisper_decoder' };
  });
}

/** The encoder's result for a batch of windows. */
export interface EncodedAudio {
  batch: number;
  /** Per decoder layer key then value, (batch, heads, 1500, head_dim). */
  cross: readonly ort.Tensor[];
}

/** Rows of `tensors` (each [rows, ...]) in the order `rows`. */
function pickRows(tensors: readonly ort.Tensor[], rows: readonly number[]): ort.Tensor[] {
  return tensors.map((t) => {
    const data = t.data as Float32Array;
    const size = data.length / t.dims[0]!;
    const out = new Float32Array(rows.length * size);
    rows.forEach((r, i) => out.set(data.subarray(r * size, (r + 1) * size), i * size));
    return float32(out, [rows.length, ...t.dims.slice(1)]);
  });
}

class WhisperCache implements KVCache {
  constructor(
    readonly batch: number,
    readonly length: number,
    readonly self: readonly ort.Tensor[],
    /** Which encoded window each row decodes. */
    readonly windows: readonly number[],
    readonly cross: readonly ort.Tensor[],
  ) {}
}

const sameRows = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

/** The decoder over one batch of encoded windows, as a LanguageModel. */
export class WhisperDecoder implements LanguageModel {
  constructor(
    private readonly model: Whisper,
    private readonly graph: CompiledGraph,
    readonly encoded: EncodedAudio,
  ) {}

  get vocabSize(): number {
    return this.model.config.vocabSize;
  }

  get maxPositions(): number {
    return this.model.config.maxTargetPositions;
  }

  async forward(input: ForwardInput): Promise<ForwardOutput> {
    const { batch } = input;
    const c = this.model.config;
    const cache = input.cache ? this.cacheOf(input.cache, batch) : this.emptyCache(batch);
    const steps = input.ids.length / batch;
    const total = cache.length + steps;
    if (!Number.isInteger(steps) || steps < 1) throw new Error(`Whisper decoder: ${input.ids.length} ids do not split into ${batch} rows of at least one token`);
    if (input.attentionMask.length !== batch * total) throw new Error(`Whisper decoder: attentionMask has ${input.attentionMask.length} entries, expected ${batch} × ${total}`);
    if (input.positionIds.length !== batch * steps) throw new Error(`Whisper decoder: positionIds has ${input.positionIds.length} entries, expected ${batch} × ${steps}`);
    if (total > this.maxPositions) throw new Error(`Whisper decoder: ${total} positions exceed the model's maximum of ${this.maxPositions} (max_target_positions)`);
    const feeds: Record<string, ort.Tensor> = {
      input_ids: int64(input.ids, [batch, steps]),
      position_ids: int64(input.positionIds, [batch, steps]),
      attention_mask: int64(input.attentionMask, [batch, total]),
      logits_index: int64(input.allLogits ? BigInt64Array.from({ length: steps }, (_, i) => BigInt(i)) : BigInt64Array.of(-1n), [input.allLogits ? steps : 1]),
    };
    for (let i = 0; i < c.decoderLayers; i++) {
      KINDS.forEach((k, j) => {
        feeds[pastName(i, k)] = cache.self[2 * i + j]!;
        feeds[crossName(i, k)] = cache.cross[2 * i + j]!;
      });
    }
    const out = await this.graph.run(feeds);
    const present = Array.from({ length: 2 * c.decoderLayers }, (_, j) => out[presentName(j >> 1, KINDS[j & 1]!)]!);
    return { logits: out.logits!.data as Float32Array, cache: new WhisperCache(batch, total, present, cache.windows, cache.cross) };
  }

  selectCache(cache: KVCache, rows: readonly number[]): KVCache {
    const c = this.cacheOf(cache, cache.batch);
    if (sameRows(rows, c.windows.map((_, i) => i))) return c;
    for (const r of rows) if (!Number.isInteger(r) || r < 0 || r >= c.batch) throw new Error(`selectCache: row ${r} is out of range for a cache of ${c.batch} rows`);
    const windows = rows.map((r) => c.windows[r]!);
    // Beams of one window reorder among themselves: the cross K/V rows stay as they are.
    const cross = sameRows(windows, c.windows) ? c.cross : pickRows(this.encoded.cross, windows);
    return new WhisperCache(rows.length, c.length, pickRows(c.self, rows), windows, cross);
  }

  private emptyCache(batch: number): WhisperCache {
    const { batch: windows } = this.encoded;
    if (batch !== windows) throw new Error(`Whisper decoder: a prefill of ${batch} rows for ${windows} encoded windows (one prompt per window)`);
    const { decoderLayers, decoderHeads } = this.model.config;
    const empty = Array.from({ length: 2 * decoderLayers }, () => float32(new Float32Array(0), [batch, decoderHeads, 0, this.model.headDim]));
    return new WhisperCache(batch, 0, empty, Array.from({ length: batch }, (_, i) => i), this.encoded.cross);
  }

  private cacheOf(cache: KVCache, batch: number): WhisperCache {
    if (!(cache instanceof WhisperCache)) throw new Error('Whisper decoder: the cache was not created by this decoder');
    if (cache.batch !== batch) throw new Error(`Whisper decoder: the cache holds ${cache.batch} rows but the input has batch ${batch}`);
    return cache;
  }
}

/** Compiled encoder and decoder of one Whisper model. */
export class WhisperSession {
  private constructor(
    readonly model: Whisper,
    private readonly encoder: CompiledGraph,
    private readonly decoder: CompiledGraph,
  ) {}

  static async compile(model: Whisper): Promise<WhisperSession> {
    const [encoder, decoder] = await Promise.all([CompiledGraph.compile(encoderGraph(model)), CompiledGraph.compile(decoderGraph(model))]);
    return new WhisperSession(model, encoder, decoder);
  }

  /** Encode windows of input_features ([batch, mels, 3000] row-major). */
  async encode(features: Float32Array, batch: number): Promise<EncodedAudio> {
    const c = this.model.config;
    const frames = 2 * c.maxSourcePositions;
    if (features.length !== batch * c.melBins * frames) {
      throw new Error(`Whisper encoder: input_features must be [${batch}, ${c.melBins}, ${frames}] (${batch * c.melBins * frames} values), received ${features.length}`);
    }
    const names = Array.from({ length: 2 * c.decoderLayers }, (_, j) => crossName(j >> 1, KINDS[j & 1]!));
    const out = await this.encoder.run({ input_features: float32(features, [batch, c.melBins, frames]) }, names);
    return { batch, cross: names.map((n) => out[n]!) };
  }

  decoderFor(encoded: EncodedAudio): WhisperDecoder {
    return new WhisperDecoder(this.model, this.decoder, encoded);
  }

  async release(): Promise<void> {
    await Promise.all([this.encoder.release(), this.decoder.release()]);
  }
}
