/**
 * WAV files: wavefile parses the RIFF/RIFX/RF64 chunk structure and the fmt chunk from the file's
 * first bytes; the data chunk is then decoded here block by block, so a file of any length is read
 * in bounded memory. PCM 8/16/24/32-bit and IEEE float 32/64 (plain or WAVE_FORMAT_EXTENSIBLE) are
 * decoded to float32 in [-1, 1) as soundfile does; other codecs are reported for ffmpeg.
 */
import { createRequire } from 'node:module';
import { AudioFormatError } from './errors.js';

// wavefile is CommonJS with `export =` typings.
const { WaveFile } = createRequire(import.meta.url)('wavefile') as typeof import('wavefile');

export type SampleEncoding = 'uint8' | 'int16' | 'int24' | 'int32' | 'float32' | 'float64';

export interface WavHeader {
  sampleRate: number;
  channels: number;
  encoding: SampleEncoding;
  /** Bytes of one frame (one sample of every channel). */
  blockAlign: number;
  bigEndian: boolean;
  /** Byte offset of the first sample. */
  dataOffset: number;
  /** Bytes of samples that will be read: whole frames that are really in the file. */
  dataBytes: number;
  frames: number;
  /** What the file says that is not quite right but could be read past (a data size past the end of the file, ...). */
  warnings: string[];
}

/** A WAV whose samples are in a codec Forja does not decode (ADPCM, MP3, A-law...): ffmpeg's job. */
export interface OtherCodec {
  codec: string;
}

const FORMAT_PCM = 1;
const FORMAT_FLOAT = 3;
const FORMAT_EXTENSIBLE = 0xfffe;
const CODEC_NAMES: Readonly<Record<number, string>> = { 2: 'MS ADPCM', 6: 'A-law', 7: 'µ-law', 0x11: 'IMA ADPCM', 0x55: 'MP3', 0x161: 'WMA' };
/** A data size streaming writers leave when they cannot seek back to patch it. */
const UNKNOWN_SIZE = 0xffffffff;

interface Chunk {
  id: string;
  size: number;
  /** Offset of the chunk's first byte after its 8-byte header. */
  start: number;
}

/** The top-level chunks whose 8-byte headers are in `head` (wavefile keeps its own index private). */
function chunkIndex(head: Uint8Array, bigEndian: boolean): Chunk[] {
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const chunks: Chunk[] = [];
  for (let at = 12; at + 8 <= head.length; ) {
    const chunk = { id: String.fromCharCode(...head.subarray(at, at + 4)), size: view.getUint32(at + 4, !bigEndian), start: at + 8 };
    chunks.push(chunk);
    if (chunk.id === 'data') break; // what follows is samples, not chunks
    at = chunk.start + chunk.size + (chunk.size % 2);
  }
  return chunks;
}

interface Fmt {
  audioFormat: number;
  numChannels: number;
  sampleRate: number;
  blockAlign: number;
  bitsPerSample: number;
  subformat: number[];
}

const hex = (n: number): string => `0x${n.toString(16).padStart(4, '0')}`;

function encodingOf(format: number, bits: number): SampleEncoding | undefined {
  if (format === FORMAT_PCM) return ({ 8: 'uint8', 16: 'int16', 24: 'int24', 32: 'int32' } as const)[bits as 8 | 16 | 24 | 32];
  if (format === FORMAT_FLOAT) return ({ 32: 'float32', 64: 'float64' } as const)[bits as 32 | 64];
  return undefined;
}

/** True when `head` starts like a RIFF/RIFX/RF64 WAVE file. */
export function looksLikeWav(head: Uint8Array): boolean {
  if (head.length < 12) return false;
  const tag = (at: number): string => String.fromCharCode(...head.subarray(at, at + 4));
  return ['RIFF', 'RIFX', 'RF64'].includes(tag(0)) && tag(8) === 'WAVE';
}

/**
 * The header of a WAV file from its first bytes (`head`, at least up to the data chunk's header)
 * and its total size. Throws AudioFormatError for a file cut inside its header or one that
 * contradicts itself; returns OtherCodec for samples it does not decode.
 */
export function parseWavHeader(head: Uint8Array, fileSize: number, source: string): WavHeader | OtherCodec {
  if (head.length < 12) throw new AudioFormatError(source, `the file is ${fileSize} bytes long: too short to be a WAV file (a RIFF header alone is 12 bytes; truncated?)`);
  if (!looksLikeWav(head)) throw new AudioFormatError(source, 'not a WAV file (no RIFF/RIFX/RF64 "WAVE" header)');
  const wav = new WaveFile();
  try {
    wav.fromBuffer(head, false);
  } catch (err) {
    const reason = (err as Error).message;
    const cut = /fmt|data/.test(reason) && head.length >= fileSize;
    throw new AudioFormatError(source, `the WAV header cannot be read (${reason})${cut ? `: the file ends at byte ${fileSize}, before its audio starts (truncated?)` : ''}`);
  }
  const chunks = chunkIndex(head, wav.container === 'RIFX');
  const fmtChunk = chunks.find((c) => c.id === 'fmt ')!;
  const dataChunk = chunks.find((c) => c.id === 'data');
  if (!dataChunk) throw new AudioFormatError(source, `no data chunk in the first ${head.length} bytes${head.length >= fileSize ? ' (the file ends before its audio starts; truncated?)' : ''}`);
  if (fmtChunk.size < 16 || fmtChunk.start + 16 > head.length) {
    throw new AudioFormatError(source, `the fmt chunk is cut short (${fmtChunk.size} bytes declared, the file ends at byte ${fileSize}; truncated?)`);
  }
  const fmt = wav.fmt as Fmt;
  const format = fmt.audioFormat === FORMAT_EXTENSIBLE && fmt.subformat.length > 0 ? fmt.subformat[0]! & 0xffff : fmt.audioFormat;
  const encoding = encodingOf(format, fmt.bitsPerSample);
  if (!encoding) {
    if (format === FORMAT_PCM || format === FORMAT_FLOAT) return { codec: `${fmt.bitsPerSample}-bit ${format === FORMAT_PCM ? 'PCM' : 'float'} WAV` };
    return { codec: `${CODEC_NAMES[format] ?? 'an unknown codec'} inside WAV (format ${hex(format)})` };
  }
  const { numChannels: channels, sampleRate } = fmt;
  if (channels < 1) throw new AudioFormatError(source, `the fmt chunk says ${channels} channels`);
  if (!(sampleRate > 0)) throw new AudioFormatError(source, `the fmt chunk says a sample rate of ${sampleRate} Hz`);
  const blockAlign = channels * (fmt.bitsPerSample / 8);
  const warnings: string[] = [];
  if (fmt.blockAlign !== blockAlign) warnings.push(`the fmt chunk says ${fmt.blockAlign} bytes per frame, ${channels} × ${fmt.bitsPerSample}-bit samples make ${blockAlign}: read as ${blockAlign}`);
  const dataOffset = dataChunk.start;
  let declared = dataChunk.size;
  if (wav.container === 'RF64' && declared === UNKNOWN_SIZE) {
    // ds64 holds dataSizeLow then dataSizeHigh; wavefile names the two the other way round.
    const ds64 = wav.ds64 as { dataSizeHigh: number; dataSizeLow: number };
    declared = ds64.dataSizeHigh + ds64.dataSizeLow * 2 ** 32;
  }
  const available = Math.max(0, fileSize - dataOffset);
  let bytes = declared;
  if (declared === UNKNOWN_SIZE || (declared === 0 && available > 0)) {
    bytes = available; // a streaming writer's placeholder: the samples run to the end of the file
  } else if (declared > available) {
    warnings.push(`the header declares ${declared} bytes of audio but the file holds ${available} after byte ${dataOffset} (truncated, or a header that was never updated): read the ${available} bytes there are`);
    bytes = available;
  }
  const whole = bytes - (bytes % blockAlign);
  if (whole !== bytes) warnings.push(`the audio ends in a partial frame (${bytes % blockAlign} of ${blockAlign} bytes): dropped`);
  return { sampleRate, channels, encoding, blockAlign, bigEndian: wav.container === 'RIFX', dataOffset, dataBytes: whole, frames: whole / blockAlign, warnings };
}

/** Interleaved samples of whole frames in `bytes` as float32 in [-1, 1). */
export function decodeSamples(bytes: Uint8Array, header: Pick<WavHeader, 'encoding' | 'bigEndian'>): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const little = !header.bigEndian;
  const decoders: Record<SampleEncoding, [number, (at: number) => number]> = {
    uint8: [1, (at) => (view.getUint8(at) - 128) / 128],
    int16: [2, (at) => view.getInt16(at, little) / 32768],
    int24: [3, (at) => (little ? (view.getInt8(at + 2) << 16) | view.getUint16(at, true) : (view.getInt8(at) << 16) | view.getUint16(at + 1, false)) / 8388608],
    int32: [4, (at) => view.getInt32(at, little) / 2147483648],
    float32: [4, (at) => view.getFloat32(at, little)],
    float64: [8, (at) => view.getFloat64(at, little)],
  };
  const [size, read] = decoders[header.encoding];
  const out = new Float32Array(Math.floor(bytes.byteLength / size));
  for (let i = 0, at = 0; i < out.length; i++, at += size) out[i] = read(at);
  return out;
}
