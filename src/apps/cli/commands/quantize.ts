/**
 * `forja quantize --model DIR|ID --bits 8|4 [--group-size N] --out DIR`: write a
 * quantized checkpoint (models/quantize/io.ts documents its tensors) that
 * `forja generate --model OUT` and `pipeline()` load directly.
 */
import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { QUANTIZATION_DEFAULTS, quantizationConfig, quantizeCheckpoint, type EmbeddingStorage, type QuantizationOptions } from '../../../models/quantize/index.js';
import { CliError } from '../errors.js';
import { prepareOutDir } from '../output.js';
import { bitsOption, embeddingOption, groupSizeOption, quantizeCliError } from '../quantize-options.js';

interface QuantizeFlags {
  model: string;
  bits: 8 | 4;
  groupSize?: number;
  sym: boolean;
  keepLmHead: boolean;
  embedding?: EmbeddingStorage;
  out: string;
  overwrite: boolean;
  json: boolean;
}

export function register(program: Command): void {
  program
    .command('quantize')
    .description('Quantize a checkpoint\'s linear maps to 8 or 4 bits (ONNX Runtime MatMulNBits) and save it as a checkpoint Forja loads')
    .requiredOption('--model <dir|id>', 'a float Hugging Face checkpoint directory or hub id (GPT-2 or the Llama family)')
    .requiredOption('--bits <n>', 'weight bits: 8 or 4', bitsOption)
    .option('--group-size <n>', `values per scale along each input dimension: 16, 32, 64 or 128; must divide every linear map's input size (default ${QUANTIZATION_DEFAULTS.group_size}, or the largest that does)`, groupSizeOption)
    .option('--sym', 'symmetric blocks (no zero points)', false)
    .option('--keep-lm-head', 'leave the LM head in float32', false)
    .option('--embedding <how>', `how the input embedding is stored: float32, float16 or quantized (default ${QUANTIZATION_DEFAULTS.embedding})`, embeddingOption)
    .requiredOption('--out <dir>', 'where to write the quantized checkpoint')
    .option('--overwrite', 'write into a non-empty --out', false)
    .option('--json', 'print what was written as one JSON line', false)
    .action(quantize);
}

async function quantize(flags: QuantizeFlags): Promise<void> {
  const context = `quantize --model ${flags.model}`;
  const options: QuantizationOptions = {
    bits: flags.bits,
    sym: flags.sym,
    lm_head: !flags.keepLmHead,
    ...(flags.groupSize !== undefined ? { group_size: flags.groupSize } : {}),
    ...(flags.embedding ? { embedding: flags.embedding } : {}),
  };
  try {
    quantizationConfig(options); // settings are refused before anything is read
  } catch (err) {
    throw quantizeCliError(context, err);
  }
  if (existsSync(flags.model) && resolve(flags.model) === resolve(flags.out)) throw new CliError(`--out ${flags.out} is --model's directory; writing there would replace the float checkpoint`);
  await prepareOutDir(flags.out, { flag: '--out', overwrite: flags.overwrite });
  const started = performance.now();
  let result;
  try {
    result = await quantizeCheckpoint(flags.model, flags.out, options);
  } catch (err) {
    throw quantizeCliError(context, err);
  }
  const seconds = (performance.now() - started) / 1000;
  const mb = (n: number) => (n / 1e6).toFixed(1);
  const c = result.model.config;
  if (flags.json) {
    process.stdout.write(`${JSON.stringify({ out: result.outDir, quantization_config: c, float_bytes: result.floatBytes, quantized_bytes: result.quantizedBytes, files: result.files, seconds })}\n`);
  } else {
    const how = `${c.bits}-bit, group ${c.group_size}, ${c.sym ? 'symmetric' : 'asymmetric'}, head ${c.lm_head ? 'quantized' : 'float32'}, embedding ${c.embedding}`;
    process.stdout.write(`quantized ${flags.model} (${how}): ${mb(result.floatBytes)} MB of float32 weights → ${mb(result.quantizedBytes)} MB; wrote ${flags.out}\n`);
  }
}
