/**
 * One entry point for `export onnx`: a checkpoint's architecture picks its exporter. Causal LMs
 * write onnx/model.onnx (or a quantized file); encoder-decoders (Whisper, vision-encoder-decoder)
 * write onnx/encoder_model.onnx + onnx/decoder_model_merged.onnx.
 */
import { join } from 'node:path';
import { readJsonObject } from '../io/hf-checkpoint.js';
import { resolveModelDir } from '../io/hub.js';
import { DECODER_FILE, ENCODER_FILE } from './encoder-decoder/export.js';
import { exportOnnx, type ExportOptions } from './export-onnx.js';
import { exportVisionEncoderDecoder } from './vision-encoder-decoder/export-onnx.js';
import { VISION_ENCODER_DECODER_ARCHITECTURE } from './vision-encoder-decoder/model.js';
import { WHISPER_ARCHITECTURE } from './whisper/config.js';
import { exportWhisper } from './whisper/export.js';

export interface ExportedModel {
  outDir: string;
  /** Files written, relative to outDir. */
  files: string[];
  /** The ONNX files among them, with their sizes in bytes. */
  onnx: { file: string; bytes: number }[];
}

const ENCODER_DECODER_EXPORTERS: Readonly<Record<string, typeof exportWhisper>> = {
  [WHISPER_ARCHITECTURE]: exportWhisper,
  [VISION_ENCODER_DECODER_ARCHITECTURE]: exportVisionEncoderDecoder,
};

export class ExportUnsupportedError extends Error {
  override name = 'ExportUnsupportedError';
}

/** Export `modelDir` (a checkpoint directory or hub id) to `outDir` in the layout transformers.js loads for its architecture. */
export async function exportModel(modelDir: string, outDir: string, opts: ExportOptions = {}): Promise<ExportedModel> {
  // The config alone picks the exporter, which then fetches what its architecture needs.
  const dir = await resolveModelDir(modelDir, { ...opts, weights: false });
  const config = await readJsonObject(join(dir, 'config.json'), true);
  const architecture = Array.isArray(config.architectures) ? String(config.architectures[0]) : undefined;
  const encoderDecoder = architecture === undefined ? undefined : ENCODER_DECODER_EXPORTERS[architecture];
  if (!encoderDecoder) {
    const r = await exportOnnx(modelDir, outDir, opts);
    return { outDir: r.outDir, files: r.files, onnx: [{ file: r.modelFile, bytes: r.modelBytes }] };
  }
  if (opts.quantize) throw new ExportUnsupportedError(`${dir}: quantized export covers causal language models; ${architecture} exports in float32 only`);
  const r = await encoderDecoder(modelDir, outDir, opts);
  return { outDir: r.outDir, files: r.files, onnx: [{ file: ENCODER_FILE, bytes: r.encoderBytes }, { file: DECODER_FILE, bytes: r.decoderBytes }] };
}
