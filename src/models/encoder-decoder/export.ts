/**
 * An encoder-decoder in the layout transformers.js loads for Seq2Seq / Vision2Seq models:
 * onnx/encoder_model.onnx (the encoder input → last_hidden_state) and
 * onnx/decoder_model_merged.onnx (input_ids, encoder_hidden_states, the self-attention cache and
 * use_cache_branch → logits and the grown cache), beside config.json, generation_config.json and
 * the tokenizer and processor files.
 *
 * Cache names follow transformers.js' getKeyValueNames. A vision-encoder-decoder with a GPT-2
 * decoder has only `past_key_values.{i}.key/value`: there is no slot for cross K/V, so the
 * decoder projects encoder_hidden_states at every step. With that layout the first step (empty
 * past) and later ones are the same computation, so the merged decoder is one graph, not
 * Optimum's If over two copies; `use_cache_branch` is declared (transformers.js and Optimum feed
 * it) and needs no branch.
 */
import { copyFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { trace } from '../../core/graph.js';
import { writeFileAtomic, writeJsonAtomic } from '../../io/atomic.js';
import { emitModel, type EmitOptions } from '../../onnx/emit.js';
import type { JsonObject } from '../../io/hf-checkpoint.js';
import type { KvPair } from '../transformer/types.js';
import type { EncoderDecoderModel } from './types.js';

const BATCH = 'batch_size';

/** protobuf's hard limit on one message; larger models would need ONNX external data. */
const PROTOBUF_LIMIT = 2 ** 31 - 1;

export const ENCODER_FILE = 'onnx/encoder_model.onnx';
export const DECODER_FILE = 'onnx/decoder_model_merged.onnx';

/** Files copied from the checkpoint when present: tokenizer, image processor, audio feature extractor. */
const COPIED_FILES = ['tokenizer.json', 'tokenizer_config.json', 'vocab.json', 'merges.txt', 'special_tokens_map.json', 'added_tokens.json', 'preprocessor_config.json'];

/** encoder_model.onnx: the encoder input [batch_size, ...dims] → last_hidden_state. */
export function encoderModelGraph(model: EncoderDecoderModel): EmitOptions {
  return trace((g) => {
    const input = g.input(model.encoderInput.name, [BATCH, ...model.encoderInput.dims]);
    return { graph: g, inputs: [input], outputs: { last_hidden_state: model.encode(input) }, variables: 'initializers', name: 'encoder_model' };
  });
}

/**
 * decoder_model_merged.onnx with self-attention cache names only (`past_key_values.{i}.key`):
 * cross K/V come from encoder_hidden_states, positions from the past length, no attention mask.
 */
export function mergedDecoderGraph(model: EncoderDecoderModel, encoderHiddenSize: number): EmitOptions {
  const { layers, kvHeads, headDim } = model.decoderDims;
  return trace((g) => {
    const inputIds = g.input('input_ids', [BATCH, 'decoder_sequence_length'], 'int64');
    const encoderHidden = g.input('encoder_hidden_states', [BATCH, 'encoder_sequence_length', encoderHiddenSize]);
    const past: KvPair[] = Array.from({ length: layers }, (_, i) => ({
      key: g.input(`past_key_values.${i}.key`, [BATCH, kvHeads, 'past_decoder_sequence_length', headDim]),
      value: g.input(`past_key_values.${i}.value`, [BATCH, kvHeads, 'past_decoder_sequence_length', headDim]),
    }));
    const useCacheBranch = g.input('use_cache_branch', [1], 'bool');
    const { logits, present } = model.decode({ inputIds, past, cross: model.crossKeyValues(encoderHidden) });
    const outputs: EmitOptions['outputs'] = { logits };
    present.forEach((kv, i) => {
      outputs[`present.${i}.key`] = kv.key;
      outputs[`present.${i}.value`] = kv.value;
    });
    const inputs = [inputIds, encoderHidden, ...past.flatMap((kv) => [kv.key, kv.value]), useCacheBranch];
    return { graph: g, inputs, outputs, variables: 'initializers', name: 'decoder_model_merged' };
  });
}

export interface EncoderDecoderExportSource {
  /** The checkpoint directory (tokenizer and processor files are copied from it). */
  dir: string;
  config: JsonObject;
  generationConfig?: JsonObject | undefined;
}

export interface EncoderDecoderExportResult {
  outDir: string;
  /** Files written, relative to outDir. */
  files: string[];
  encoderBytes: number;
  decoderBytes: number;
}

/** The hidden size of `encode`'s output, traced once (it is static in every architecture's encoder). */
function encoderHiddenSize(model: EncoderDecoderModel): number {
  const width = trace((g) => model.encode(g.input(model.encoderInput.name, [1, ...model.encoderInput.dims])).shape.at(-1));
  if (typeof width !== 'number') throw new Error(`${model.architecture}: the encoder's output width is not static`);
  return width;
}

/**
 * Write `model` to `outDir` in transformers.js' encoder-decoder layout. `decoderGraph` replaces the
 * merged decoder graph for architectures whose cache has other names (Whisper's `.decoder.` /
 * `.encoder.` pairs).
 */
export async function writeEncoderDecoderExport(model: EncoderDecoderModel, source: EncoderDecoderExportSource, outDir: string, decoderGraph?: EmitOptions): Promise<EncoderDecoderExportResult> {
  const weightBytes = [...model.weights.values()].reduce((n, v) => n + v.value.byteLength, 0);
  if (weightBytes > PROTOBUF_LIMIT) {
    throw new Error(`export: ${source.dir} has ${(weightBytes / 2 ** 30).toFixed(1)} GiB of float32 weights; ONNX files over 2 GiB need external data, which the exporter does not write yet`);
  }
  const encoder = emitModel(encoderModelGraph(model)).bytes;
  const decoder = emitModel(decoderGraph ?? mergedDecoderGraph(model, encoderHiddenSize(model))).bytes;
  const files: string[] = [];
  const write = async (file: string, data: Uint8Array | object) => {
    const path = join(outDir, file);
    await (data instanceof Uint8Array ? writeFileAtomic(path, data) : writeJsonAtomic(path, data));
    files.push(file);
  };
  await write(ENCODER_FILE, encoder);
  await write(DECODER_FILE, decoder);
  await write('config.json', { ...source.config, 'transformers.js_config': { dtype: 'fp32' } });
  await write('generation_config.json', source.generationConfig ?? generationConfigFrom(source.config));
  for (const file of COPIED_FILES) {
    if (!existsSync(join(source.dir, file))) continue;
    await copyFile(join(source.dir, file), join(outDir, file));
    files.push(file);
  }
  return { outDir, files, encoderBytes: encoder.byteLength, decoderBytes: decoder.byteLength };
}

/** What transformers derives when a checkpoint has no generation_config.json. */
function generationConfigFrom(config: JsonObject): JsonObject {
  const keys = ['bos_token_id', 'eos_token_id', 'pad_token_id', 'decoder_start_token_id'] as const;
  return Object.fromEntries(keys.filter((k) => config[k] !== undefined && config[k] !== null).map((k) => [k, config[k]]));
}
