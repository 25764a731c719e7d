/** BERT encoders: sentence-transformers embedders and cross-encoder rerankers. */
export * from './config.js';
export * from './model.js';
export * from './pooling.js';
export * from './encoding.js';
export * from './graph.js';
export * from './sentence-transformers.js';
export * from './embedder.js';
export * from './cross-encoder.js';
export * from './contrastive/index.js';
