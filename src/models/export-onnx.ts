/**
 * Export a checkpoint in the layout transformers.js (@huggingface/transformers)
 * loads: onnx/model.onnx (the inference graph with logits for every position),
 * config.json, generation_config.json and the tokenizer files.
 */
import { copyFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic, writeJsonAtomic } from '../io/atomic.js';
import { loadHfCheckpoint, type LoadCheckpointOptions } from '../io/hf-checkpoint.js';
import { emitModel } from '../onnx/emit.js';
import { loadCausalLmModel } from './registry.js';
import { inferenceGraph } from './transformer/inference-graph.js';

/** Tokenizer files copied when the checkpoint has them. */
const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json', 'vocab.json', 'merges.txt', 'special_tokens_map.json', 'chat_template.jinja'];

/** protobuf's hard limit on one message; larger models would need ONNX external data. */
const PROTOBUF_LIMIT = 2 ** 31 - 1;

export interface ExportResult {
  outDir: string;
  /** Files written, relative to outDir. */
  files: string[];
  /** Size of onnx/model.onnx in bytes. */
  modelBytes: number;
}

/** Write `modelDir` (a checkpoint directory or hub id) to `outDir` in transformers.js layout. */
export async function exportOnnx(modelDir: string, outDir: string, opts: LoadCheckpointOptions = {}): Promise<ExportResult> {
  const ckpt = await loadHfCheckpoint(modelDir, opts);
  const model = loadCausalLmModel(ckpt.config, ckpt.weights, join(ckpt.dir, 'config.json'));
  const weightBytes = [...model.weights.values()].reduce((n, v) => n + v.value.byteLength, 0);
  if (weightBytes > PROTOBUF_LIMIT) {
    throw new Error(`exportOnnx: ${modelDir} has ${(weightBytes / 2 ** 30).toFixed(1)} GiB of float32 weights; ONNX files over 2 GiB need external data, which the exporter does not write yet`);
  }
  const { bytes } = emitModel(inferenceGraph(model, { logits: 'all' }));
  const files: string[] = [];
  const write = async (file: string, data: Uint8Array | object) => {
    const path = join(outDir, file);
    await (data instanceof Uint8Array ? writeFileAtomic(path, data) : writeJsonAtomic(path, data));
    files.push(file);
  };
  await write('onnx/model.onnx', bytes);
  // transformers.js reads its own section of config.json; the weights are float32.
  await write('config.json', { ...ckpt.config, 'transformers.js_config': { dtype: 'fp32' } });
  await write('generation_config.json', ckpt.generationConfig ?? generationConfigFrom(ckpt.config));
  for (const file of TOKENIZER_FILES) {
    if (!existsSync(join(ckpt.dir, file))) continue;
    await copyFile(join(ckpt.dir, file), join(outDir, file));
    files.push(file);
  }
  return { outDir, files, modelBytes: bytes.byteLength };
}

/** What transformers derives when a checkpoint has no generation_config.json. */
function generationConfigFrom(config: Record<string, unknown>): Record<string, unknown> {
  const keys = ['bos_token_id', 'eos_token_id', 'pad_token_id'] as const;
  return Object.fromEntries(keys.filter((k) => config[k] !== undefined && config[k] !== null).map((k) => [k, config[k]]));
}
