/** Audio in: WAV decoding, resampling, downmix, ffmpeg for other formats, Whisper log-mel features, subtitles. */
export * from './errors.js';
export * from './features.js';
export * from './ffmpeg.js';
export * from './mel.js';
export * from './resample.js';
export * from './source.js';
export * from './subtitles.js';
export * from './wav.js';
