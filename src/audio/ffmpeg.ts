/**
 * Formats other than PCM/float WAV go through an `ffmpeg` child process that writes mono float32
 * at the wanted rate to its stdout, read as a stream (bounded memory; ffmpeg waits while Forja is busy).
 */
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { FfmpegError, FfmpegMissingError } from './errors.js';

/** The ffmpeg executable on `PATH` (or `envPath`), if there is one. */
export function findFfmpeg(envPath = process.env.PATH ?? ''): string | undefined {
  const names = process.platform === 'win32' ? ['ffmpeg.exe'] : ['ffmpeg'];
  for (const dir of envPath.split(delimiter)) {
    if (!dir) continue;
    for (const name of names) {
      const candidate = join(dir, name);
      try {
        accessSync(candidate, constants.X_OK);
        return candidate;
      } catch {
        // not here
      }
    }
  }
  return undefined;
}

/** What a file's first bytes say it is, for messages about files Forja cannot decode itself. */
export function describeFormat(head: Uint8Array, path: string): string {
  const text = (from: number, to: number): string => String.fromCharCode(...head.subarray(from, to));
  if (text(0, 3) === 'ID3' || (head[0] === 0xff && ((head[1] ?? 0) & 0xe0) === 0xe0)) return 'MP3 audio';
  if (text(0, 4) === 'fLaC') return 'FLAC audio';
  if (text(0, 4) === 'OggS') return 'Ogg audio';
  if (text(4, 8) === 'ftyp') return 'MP4/M4A audio';
  if (text(0, 4) === '\x1aE\xdf\xa3') return 'WebM/Matroska audio';
  const ext = /\.([^./\\]+)$/.exec(path)?.[1];
  return ext ? `a .${ext} file (not WAV)` : 'a file that is not WAV';
}

export interface FfmpegOptions {
  sampleRate: number;
  /** The executable (default: found on PATH). */
  ffmpeg?: string | undefined;
  /** What the file is, for the error when ffmpeg is missing. */
  format: string;
  signal?: AbortSignal | undefined;
}

/** Mono float32 blocks of `path` at `sampleRate`, decoded by ffmpeg. */
export async function* ffmpegSamples(path: string, opts: FfmpegOptions): AsyncGenerator<Float32Array> {
  const exe = opts.ffmpeg ?? findFfmpeg();
  if (!exe) throw new FfmpegMissingError(path, opts.format);
  const args = ['-nostdin', '-hide_banner', '-loglevel', 'error', '-i', path, '-vn', '-ac', '1', '-ar', String(opts.sampleRate), '-f', 'f32le', '-acodec', 'pcm_f32le', 'pipe:1'];
  const child = spawn(exe, args, { stdio: ['ignore', 'pipe', 'pipe'], ...(opts.signal ? { signal: opts.signal } : {}) });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (s: string) => {
    if (stderr.length < 8192) stderr += s;
  });
  const exited = new Promise<number | null>((resolve, reject) => {
    child.on('error', (err: NodeJS.ErrnoException) => reject(err.code === 'ENOENT' ? new FfmpegMissingError(path, opts.format) : err));
    child.on('close', resolve);
  });
  exited.catch(() => undefined); // observed below
  let carry = new Uint8Array(0);
  try {
    for await (const chunk of child.stdout as AsyncIterable<Buffer>) {
      const bytes = carry.length ? Buffer.concat([carry, chunk]) : chunk;
      const whole = bytes.length - (bytes.length % 4);
      carry = Uint8Array.from(bytes.subarray(whole));
      if (whole === 0) continue;
      // Copy: the chunk's offset need not be 4-aligned.
      yield new Float32Array(Uint8Array.from(bytes.subarray(0, whole)).buffer);
    }
    const code = await exited;
    if (code !== 0) throw new FfmpegError(path, stderr || `exit code ${code}`);
  } finally {
    if (child.exitCode === null) child.kill();
  }
}
