/** Fine-tuning causal LMs Forja loads, in full or with LoRA: the arguments, the task the Trainer runs, the output directory, finetune(). */
export * from './args.js';
export * from './errors.js';
export * from './data.js';
export * from './graph.js';
export * from './task.js';
export * from './callbacks.js';
export * from './save.js';
export * from './open.js';
export * from './finetune.js';
