/**
 * safetensors (https://huggingface.co/docs/safetensors), in safetensors/: dtype codecs, header
 * parsing, the reader, the atomic writer and sharded checkpoints.
 */
export {
  SafetensorsError,
  dtypeByteSize,
  toFloat32,
  type SafetensorsDtype,
} from './safetensors/codecs.js';
export { parseSafetensorsHeader, type SafetensorsHeader, type TensorInfo } from './safetensors/header.js';
export { loadF32, readSafetensors, readSafetensorsHeader, type F32Tensor, type ReadOptions, type SafetensorsTensor } from './safetensors/reader.js';
export { serializeSafetensors, writeSafetensors, type TensorToWrite, type TensorsToWrite } from './safetensors/writer.js';
export {
  SAFETENSORS_INDEX,
  readSafetensorsIndex,
  readShardedSafetensors,
  shardFiles,
  writeSafetensorsCheckpoint,
  type CheckpointWriteOptions,
  type SafetensorsIndex,
  type ShardedReadOptions,
} from './safetensors/sharded.js';
