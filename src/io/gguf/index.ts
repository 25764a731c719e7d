/** llama.cpp's GGUF files: the header, typed metadata, tensor infos and ggml's block layouts; no model knowledge. */
export * from './blocks.js';
export * from './errors.js';
export * from './metadata.js';
export * from './reader.js';
export * from './types.js';
