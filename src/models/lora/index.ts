/** LoRA for Forja's causal LMs, compatible with PEFT both ways. */
export * from './adapter.js';
export * from './config.js';
export * from './errors.js';
export * from './merge.js';
export * from './modules-to-save.js';
export * from './peft-io.js';
export * from './targets.js';
export * from './switch.js';
