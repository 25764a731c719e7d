/**
 * Audio files as a stream of mono float32 blocks at one sample rate: WAV is decoded here block by
 * block (downmixed by averaging the channels, then resampled), anything else through ffmpeg. Memory
 * stays bounded by the block size whatever the file's length.
 */
import { open, stat } from 'node:fs/promises';
import { AudioFormatError, EmptyAudioError } from './errors.js';
import { describeFormat, ffmpegSamples } from './ffmpeg.js';
import { Resampler, type ResampleQuality } from './resample.js';
import { decodeSamples, looksLikeWav, parseWavHeader, type WavHeader } from './wav.js';

export interface AudioInfo {
  /** The file. */
  source: string;
  decoder: 'wav' | 'ffmpeg';
  /** The file's own rate and channels (WAV only; ffmpeg converts before Forja sees them). */
  fileSampleRate?: number;
  channels?: number;
  /** Length from the header (WAV only). */
  durationSeconds?: number;
  /** Oddities of the file that were read past. */
  warnings: string[];
}

/** Mono blocks at `sampleRate`; iterate it once. */
export interface AudioStream extends AsyncIterable<Float32Array> {
  readonly info: AudioInfo;
  readonly sampleRate: number;
}

export interface OpenAudioOptions {
  /** Output rate (default 16000, Whisper's). */
  sampleRate?: number;
  quality?: ResampleQuality;
  /** Frames per block read from a WAV file (default 2^18). */
  blockFrames?: number;
  /** The ffmpeg executable for non-WAV files (default: found on PATH). */
  ffmpeg?: string;
  signal?: AbortSignal;
}

const HEAD_BYTES = 1 << 16;
const MAX_HEAD_BYTES = 1 << 24;
const RIFF_TAGS = ['RIFF', 'RIFX', 'RF64'];

/** Average the channels of interleaved frames. */
export function downmix(interleaved: Float32Array, channels: number): Float32Array {
  if (channels === 1) return interleaved;
  const frames = interleaved.length / channels;
  const out = new Float32Array(frames);
  for (let f = 0, at = 0; f < frames; f++) {
    let sum = 0;
    for (let c = 0; c < channels; c++) sum += interleaved[at++]!;
    out[f] = sum / channels;
  }
  return out;
}

/** Enough of the file's start to hold a WAV header with its metadata chunks. */
async function readHead(path: string, size: number): Promise<{ head: Uint8Array; header: WavHeader | { codec: string } | undefined }> {
  const file = await open(path, 'r');
  try {
    for (let want = Math.min(size, HEAD_BYTES); ; want = Math.min(size, want * 4)) {
      const head = new Uint8Array(want);
      const { bytesRead } = await file.read(head, 0, want, 0);
      const bytes = head.subarray(0, bytesRead);
      if (!looksLikeWav(bytes)) {
        // A RIFF start that is not a whole WAVE header: parseWavHeader says what is wrong with it.
        if (RIFF_TAGS.includes(String.fromCharCode(...bytes.subarray(0, 4)))) parseWavHeader(bytes, size, path);
        return { head: bytes, header: undefined };
      }
      try {
        return { head: bytes, header: parseWavHeader(bytes, size, path) };
      } catch (err) {
        // A header past the bytes read so far (big metadata chunks before the data): read more.
        if (want >= size || want >= MAX_HEAD_BYTES) throw err;
      }
    }
  } finally {
    await file.close();
  }
}

async function* wavBlocks(path: string, header: WavHeader, blockFrames: number): AsyncGenerator<Float32Array> {
  const file = await open(path, 'r');
  try {
    const blockBytes = blockFrames * header.blockAlign;
    const buffer = new Uint8Array(blockBytes);
    for (let done = 0; done < header.dataBytes; ) {
      const want = Math.min(blockBytes, header.dataBytes - done);
      const { bytesRead } = await file.read(buffer, 0, want, header.dataOffset + done);
      if (bytesRead === 0) throw new AudioFormatError(path, `the file shrank while it was read (at byte ${header.dataOffset + done})`);
      const whole = bytesRead - (bytesRead % header.blockAlign);
      done += whole;
      if (whole > 0) yield downmix(decodeSamples(buffer.subarray(0, whole), header), header.channels);
    }
  } finally {
    await file.close();
  }
}

async function* resampled(blocks: AsyncIterable<Float32Array>, inRate: number, outRate: number, quality: ResampleQuality): AsyncGenerator<Float32Array> {
  if (inRate === outRate) {
    yield* blocks;
    return;
  }
  const resampler = await Resampler.create(inRate, outRate, quality);
  try {
    for await (const block of blocks) {
      const out = resampler.push(block);
      if (out.length) yield out;
    }
  } finally {
    const tail = resampler.flush();
    if (tail.length) yield tail;
  }
}

/** Throws EmptyAudioError when the stream ends without a sample. */
async function* nonEmpty(blocks: AsyncIterable<Float32Array>, source: string): AsyncGenerator<Float32Array> {
  let any = false;
  for await (const block of blocks) {
    any ||= block.length > 0;
    yield block;
  }
  if (!any) throw new EmptyAudioError(source);
}

/**
 * Open an audio file as mono blocks at `sampleRate` (default 16 kHz). Errors about the file
 * itself (missing, truncated header, empty, unsupported codec without ffmpeg) are thrown here or
 * by the first read.
 */
export async function openAudio(path: string, opts: OpenAudioOptions = {}): Promise<AudioStream> {
  const sampleRate = opts.sampleRate ?? 16000;
  const quality = opts.quality ?? 'medium';
  const blockFrames = opts.blockFrames ?? 1 << 18;
  if (!Number.isInteger(blockFrames) || blockFrames < 1) throw new RangeError(`openAudio: blockFrames must be a positive integer, received ${blockFrames}`);
  const { size } = await stat(path);
  if (size === 0) throw new EmptyAudioError(path);
  const { head, header } = await readHead(path, size);
  if (header && 'sampleRate' in header) {
    if (header.frames === 0) throw new EmptyAudioError(path);
    const info: AudioInfo = {
      source: path,
      decoder: 'wav',
      fileSampleRate: header.sampleRate,
      channels: header.channels,
      durationSeconds: header.frames / header.sampleRate,
      warnings: header.warnings,
    };
    const blocks = resampled(wavBlocks(path, header, blockFrames), header.sampleRate, sampleRate, quality);
    return { info, sampleRate, [Symbol.asyncIterator]: () => blocks };
  }
  const format = header ? header.codec : describeFormat(head, path);
  const blocks = nonEmpty(ffmpegSamples(path, { sampleRate, ffmpeg: opts.ffmpeg, format, signal: opts.signal }), path);
  return { info: { source: path, decoder: 'ffmpeg', warnings: [] }, sampleRate, [Symbol.asyncIterator]: () => blocks };
}

/** A whole audio file as one mono Float32Array at `sampleRate` (for short files; long ones: openAudio). */
export async function readAudio(path: string, opts: OpenAudioOptions = {}): Promise<{ samples: Float32Array; sampleRate: number; info: AudioInfo }> {
  const stream = await openAudio(path, opts);
  const parts: Float32Array[] = [];
  let total = 0;
  for await (const block of stream) {
    parts.push(block);
    total += block.length;
  }
  const samples = new Float32Array(total);
  let at = 0;
  for (const p of parts) {
    samples.set(p, at);
    at += p.length;
  }
  return { samples, sampleRate: stream.sampleRate, info: stream.info };
}
