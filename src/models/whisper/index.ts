/** Whisper (WhisperForConditionalGeneration): speech recognition and translation with timestamps. */
export * from './config.js';
export * from './export.js';
export * from './model.js';
export * from './processors.js';
export * from './segments.js';
export * from './session.js';
export * from './tokens.js';
export * from './transcribe.js';
