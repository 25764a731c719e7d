/** Training causal LMs from scratch: settings, tokenizers, the task the Trainer runs, the run directory, samples, the run. */
export * from './settings.js';
export * from './tokenizers.js';
export * from './data.js';
export * from './task.js';
export * from './checkpoint.js';
export * from './legacy.js';
export * from './sample.js';
export * from './run.js';
