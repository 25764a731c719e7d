/** `forja export onnx --model DIR|ID --out DIR`: a checkpoint in the layout transformers.js loads. */
import type { Command } from 'commander';
import { exportOnnx } from '../../../models/export-onnx.js';
import { downloadBars } from '../download-progress.js';
import { cliErrorFrom } from '../errors.js';
import { checkWritableDir } from '../output.js';

interface ExportOnnxFlags {
  model: string;
  out: string;
}

export function register(program: Command): void {
  const exportCmd = program.command('export').description('Export a model for other runtimes');
  exportCmd
    .command('onnx')
    .description('Write onnx/model.onnx, config.json, generation_config.json and tokenizer files (transformers.js layout)')
    .requiredOption('--model <dir|id>', 'Hugging Face checkpoint directory or hub id')
    .requiredOption('--out <dir>', 'output directory')
    .action(async (flags: ExportOnnxFlags) => {
      await checkWritableDir(flags.out, '--out');
      const bars = downloadBars();
      let result;
      try {
        result = await exportOnnx(flags.model, flags.out, { onProgress: bars.onProgress });
      } catch (err) {
        throw cliErrorFrom(`export onnx --model ${flags.model}`, err);
      } finally {
        bars.stop();
      }
      const mb = (result.modelBytes / 1e6).toFixed(1);
      process.stdout.write(`wrote ${result.files.length} files to ${result.outDir} (onnx/model.onnx: ${mb} MB)\n`);
      for (const file of result.files) process.stdout.write(`  ${file}\n`);
    });
}
