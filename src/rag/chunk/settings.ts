/**
 * Ingestion settings that cannot work. The template writes each setting it blames as {name} (ingest()'s
 * option names), so src/apps can put its flags there; the library never names a flag.
 */
import { SettingsError } from '../../train/errors.js';

export class IngestSettingsError extends SettingsError {
  override name = 'IngestSettingsError';
}

/** Throws unless `value` is an integer >= `min`. */
export function checkInteger(setting: string, value: number, min: number): void {
  if (!Number.isInteger(value) || value < min) throw new IngestSettingsError(setting, `{${setting}} must be an integer of at least ${min}, not ${value}`);
}

/** Chunk size and overlap in tokens: the overlap must leave room for new text in every chunk. */
export function checkChunkSettings(chunkSize: number, overlap: number): void {
  checkInteger('chunkSize', chunkSize, 1);
  checkInteger('overlap', overlap, 0);
  if (overlap >= chunkSize) throw new IngestSettingsError('overlap', `{overlap} (${overlap}) must be smaller than {chunkSize} (${chunkSize})`);
}
