/** A VisionEncoderDecoderModel checkpoint exported in transformers.js' Vision2Seq layout (see encoder-decoder/export.ts). */
import { join } from 'node:path';
import { loadHfCheckpoint, type LoadCheckpointOptions } from '../../io/hf-checkpoint.js';
import { writeEncoderDecoderExport, type EncoderDecoderExportResult } from '../encoder-decoder/export.js';
import { VisionEncoderDecoder } from './model.js';

/** Write `modelDir` (a checkpoint directory or hub id) to `outDir`: onnx/encoder_model.onnx, onnx/decoder_model_merged.onnx, configs, tokenizer and preprocessor files. */
export async function exportVisionEncoderDecoder(modelDir: string, outDir: string, opts: LoadCheckpointOptions = {}): Promise<EncoderDecoderExportResult> {
  const ckpt = await loadHfCheckpoint(modelDir, opts);
  const model = VisionEncoderDecoder.fromCheckpoint(ckpt.config, ckpt.weights, join(ckpt.dir, 'config.json'));
  return writeEncoderDecoderExport(model, ckpt, outDir);
}
