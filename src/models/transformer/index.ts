/** Pieces every transformer architecture shares. */
export * from './attention.js';
export * from './config.js';
export * from './decoder.js';
export * from './inference-graph.js';
export * from './layers.js';
export * from './mask.js';
export * from './rope.js';
export * from './types.js';
export * from './weights.js';
