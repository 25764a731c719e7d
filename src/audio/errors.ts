/** Typed audio errors: each names the file (or input) and what is wrong with it. */

/** A file that is not audio Forja can read, or whose bytes contradict themselves. */
export class AudioFormatError extends Error {
  override name = 'AudioFormatError';
  constructor(
    /** The file or input the problem is in. */
    readonly source: string,
    message: string,
  ) {
    super(`${source}: ${message}`);
  }
}

/** Audio with no samples at all (0 s). */
export class EmptyAudioError extends Error {
  override name = 'EmptyAudioError';
  constructor(readonly source: string) {
    super(`${source}: the audio holds no samples (0 s); there is nothing to transcribe`);
  }
}

/** A format Forja reads only through ffmpeg, and ffmpeg is not on the PATH. */
export class FfmpegMissingError extends Error {
  override name = 'FfmpegMissingError';
  constructor(
    readonly source: string,
    /** What the file is, as far as Forja could tell (e.g. "MP3 inside WAV (format 0x0055)"). */
    readonly format: string,
  ) {
    super(`${source}: ${format} needs ffmpeg to decode, and no ffmpeg was found on the PATH (install ffmpeg, or convert the file to PCM or float WAV)`);
  }
}

/** ffmpeg ran and failed on the file. */
export class FfmpegError extends Error {
  override name = 'FfmpegError';
  constructor(
    readonly source: string,
    readonly stderr: string,
  ) {
    super(`${source}: ffmpeg could not decode it: ${stderr.trim().split('\n').slice(-3).join(' | ') || 'no message'}`);
  }
}
