/** Weight-only int8/int4 quantization of causal LMs onto ONNX Runtime's MatMulNBits: settings, packing, the model, its checkpoint format, loading. */
export * from './architecture.js';
export * from './config.js';
export * from './convert.js';
export * from './io.js';
export * from './load.js';
export * from './model.js';
export * from './pack.js';
