/** A float checkpoint → Forja's quantized checkpoint directory (what `forja quantize` runs). */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { LoadCheckpointOptions } from '../../io/hf-checkpoint.js';
import { TOKENIZER_FILES } from '../export-onnx.js';
import { QuantizeError, type QuantizationOptions } from './config.js';
import { saveQuantized } from './io.js';
import { loadCausalLm } from './load.js';
import { quantizeModel, QuantizedModel } from './model.js';

export interface QuantizeCheckpointResult {
  outDir: string;
  /** Files written, sorted. */
  files: string[];
  /** Weight bytes before (float32) and after. */
  floatBytes: number;
  quantizedBytes: number;
  model: QuantizedModel;
}

/** Quantize the checkpoint `model` (a directory or hub id) into `outDir`, with its tokenizer and generation config. */
export async function quantizeCheckpoint(model: string, outDir: string, options: QuantizationOptions, opts: LoadCheckpointOptions = {}): Promise<QuantizeCheckpointResult> {
  const loaded = await loadCausalLm(model, opts);
  if (loaded.model instanceof QuantizedModel) throw new QuantizeError(`${loaded.dir} is already quantized (${loaded.model.config.bits} bits); quantize its float checkpoint`);
  const floatBytes = [...loaded.model.weights.values()].reduce((n, v) => n + v.value.byteLength, 0);
  const quantized = quantizeModel(loaded.model, options);
  const files: Record<string, Uint8Array> = {};
  for (const file of TOKENIZER_FILES) {
    if (existsSync(join(loaded.dir, file))) files[file] = await readFile(join(loaded.dir, file));
  }
  const written = await saveQuantized(quantized, outDir, { config: loaded.config, generationConfig: loaded.generationConfig, files });
  return { outDir, files: written, floatBytes, quantizedBytes: quantized.weightBytes, model: quantized };
}
