/**
 * Export a checkpoint in the layout transformers.js (@huggingface/transformers)
 * loads: onnx/model.onnx (the inference graph with logits for every position),
 * or with `quantize` onnx/model_quantized.onnx (q8) / onnx/model_q4.onnx (q4),
 * the files transformers.js picks for dtype 'q8' / 'q4', with MatMulNBits
 * weights; config.json, generation_config.json and the tokenizer files.
 */
import { copyFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic, writeJsonAtomic } from '../io/atomic.js';
import { emitModel } from '../onnx/emit.js';
import { loadCausalLm, type CausalLmLoadOptions } from './quantize/load.js';
import { QuantizedModel } from './quantize/model.js';
import { inferenceGraph } from './transformer/inference-graph.js';

/** Tokenizer files copied when the checkpoint has them. */
export const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json', 'vocab.json', 'merges.txt', 'special_tokens_map.json', 'chat_template.jinja'];

/** protobuf's hard limit on one message; larger models would need ONNX external data. */
const PROTOBUF_LIMIT = 2 ** 31 - 1;

export interface ExportResult {
  outDir: string;
  /** Files written, relative to outDir. */
  files: string[];
  /** The ONNX file written, relative to outDir, and its size in bytes. */
  modelFile: string;
  modelBytes: number;
}

/** transformers.js's dtype names for Forja's 8- and 4-bit weights, and the files it loads for them. */
export const ONNX_QUANTIZATIONS = { q8: { loadIn: '8bit', file: 'onnx/model_quantized.onnx' }, q4: { loadIn: '4bit', file: 'onnx/model_q4.onnx' } } as const;
export type OnnxQuantization = keyof typeof ONNX_QUANTIZATIONS;

export interface ExportOptions extends Omit<CausalLmLoadOptions, 'loadIn'> {
  /** Quantize the weights (a float checkpoint with the default settings); a quantized checkpoint exports as its bits say. */
  quantize?: OnnxQuantization;
}

/** Write `modelDir` (a checkpoint directory or hub id) to `outDir` in transformers.js layout. */
export async function exportOnnx(modelDir: string, outDir: string, opts: ExportOptions = {}): Promise<ExportResult> {
  const { quantize, ...loadOptions } = opts;
  const ckpt = await loadCausalLm(modelDir, { ...loadOptions, ...(quantize ? { loadIn: ONNX_QUANTIZATIONS[quantize].loadIn } : {}) });
  const { model } = ckpt;
  const quantized = model instanceof QuantizedModel ? model : undefined;
  const dtype = quantized ? (quantized.config.bits === 8 ? 'q8' : 'q4') : 'fp32';
  const weightBytes = quantized ? quantized.weightBytes : [...model.weights.values()].reduce((n, v) => n + v.value.byteLength, 0);
  if (weightBytes > PROTOBUF_LIMIT) {
    throw new Error(`exportOnnx: ${modelDir} has ${(weightBytes / 2 ** 30).toFixed(1)} GiB of weights; ONNX files over 2 GiB need external data, which the exporter does not write yet`);
  }
  const { bytes } = emitModel(inferenceGraph(model, { logits: 'all' }));
  const files: string[] = [];
  const write = async (file: string, data: Uint8Array | object) => {
    const path = join(outDir, file);
    await (data instanceof Uint8Array ? writeFileAtomic(path, data) : writeJsonAtomic(path, data));
    files.push(file);
  };
  const modelFile = dtype === 'fp32' ? 'onnx/model.onnx' : ONNX_QUANTIZATIONS[dtype].file;
  await write(modelFile, bytes);
  // transformers.js reads its own section of config.json: the dtype it loads by default.
  // The ONNX file carries the quantization itself, so Forja's quantization_config stays out.
  const { quantization_config: _, ...config } = ckpt.config;
  await write('config.json', { ...config, 'transformers.js_config': { dtype } });
  await write('generation_config.json', ckpt.generationConfig ?? generationConfigFrom(ckpt.config));
  for (const file of TOKENIZER_FILES) {
    if (!existsSync(join(ckpt.dir, file))) continue;
    await copyFile(join(ckpt.dir, file), join(outDir, file));
    files.push(file);
  }
  return { outDir, files, modelFile, modelBytes: bytes.byteLength };
}

/** What transformers derives when a checkpoint has no generation_config.json. */
function generationConfigFrom(config: Record<string, unknown>): Record<string, unknown> {
  const keys = ['bos_token_id', 'eos_token_id', 'pad_token_id'] as const;
  return Object.fromEntries(keys.filter((k) => config[k] !== undefined && config[k] !== null).map((k) => [k, config[k]]));
}
