/** Model architectures. Causal LMs: GPT-2 and the Llama family, loaded from Hugging Face checkpoints; BERT embedders and cross-encoders. */
export * from './transformer/index.js';
export * from './gpt2/index.js';
export * from './llama/index.js';
export * from './registry.js';
export * from './causal-lm.js';
export * from './export-onnx.js';
export * from './bert/index.js';
export * from './vit/index.js';
export * from './encoder-decoder/index.js';
export * from './vision-encoder-decoder/index.js';
export * from './clip/index.js';
