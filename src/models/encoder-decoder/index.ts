/** Generic encoder-decoder inference (encoder and cross K/V once per input, cached decoder steps) and its transformers.js export. */
export * from './types.js';
export { EncodedBatch, EncoderDecoderSession, type EncoderInput } from './session.js';
export { decodeGraph, encodeGraph, crossName, selfPastName } from './graphs.js';
export {
  DECODER_FILE,
  ENCODER_FILE,
  encoderModelGraph,
  mergedDecoderGraph,
  writeEncoderDecoderExport,
  type EncoderDecoderExportResult,
  type EncoderDecoderExportSource,
} from './export.js';
