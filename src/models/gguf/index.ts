/** llama.cpp's GGUF files as Llama-family causal LMs: config, tokenizer, tensor names, quantized blocks on MatMulNBits; and the file reader (io/gguf). */
export * from './config.js';
export * from './load.js';
export * from './model.js';
export * from './quantized.js';
export * from './tensors.js';
export * from './tokenizer.js';
export * from '../../io/gguf/index.js';
