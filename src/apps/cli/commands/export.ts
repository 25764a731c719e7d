/** `forja export onnx --model DIR|ID --out DIR`: a checkpoint in the layout transformers.js loads. */
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { exportModel } from '../../../models/export.js';
import { ONNX_QUANTIZATIONS, type OnnxQuantization } from '../../../models/export-onnx.js';
import { downloadBars } from '../download-progress.js';
import { checkWritableDir } from '../output.js';
import { quantizeCliError } from '../quantize-options.js';

function quantizeOption(value: string): OnnxQuantization {
  if (!(value in ONNX_QUANTIZATIONS)) throw new InvalidArgumentError(`--quantize must be ${Object.keys(ONNX_QUANTIZATIONS).join(' or ')}, got '${value}'`);
  return value as OnnxQuantization;
}

interface ExportOnnxFlags {
  model: string;
  out: string;
  quantize?: OnnxQuantization;
}

export function register(program: Command): void {
  const exportCmd = program.command('export').description('Export a model for other runtimes');
  exportCmd
    .command('onnx')
    .description('Write onnx/model.onnx (or a quantized onnx/model_q4.onnx, onnx/model_quantized.onnx; encoder-decoders: onnx/encoder_model.onnx + onnx/decoder_model_merged.onnx), configs and tokenizer files (transformers.js layout)')
    .requiredOption('--model <dir|id>', 'Hugging Face checkpoint directory or hub id')
    .requiredOption('--out <dir>', 'output directory')
    .option('--quantize <q4|q8>', "4- or 8-bit MatMulNBits weights, as onnx/model_q4.onnx or onnx/model_quantized.onnx (transformers.js dtype 'q4' / 'q8')", quantizeOption)
    .action(async (flags: ExportOnnxFlags) => {
      await checkWritableDir(flags.out, '--out');
      const bars = downloadBars();
      let result;
      try {
        result = await exportModel(flags.model, flags.out, { onProgress: bars.onProgress, ...(flags.quantize ? { quantize: flags.quantize } : {}) });
      } catch (err) {
        throw quantizeCliError(`export onnx --model ${flags.model}${flags.quantize ? ` --quantize ${flags.quantize}` : ''}`, err, { bits: '--quantize' });
      } finally {
        bars.stop();
      }
      const sizes = result.onnx.map((m) => `${m.file}: ${(m.bytes / 1e6).toFixed(1)} MB`).join(', ');
      process.stdout.write(`wrote ${result.files.length} files to ${result.outDir} (${sizes})\n`);
      for (const file of result.files) process.stdout.write(`  ${file}\n`);
    });
}
