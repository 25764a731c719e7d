/** Contrastive fine-tuning of sentence-transformers BERTs: pairs, MultipleNegativesRankingLoss, the task, saving. */
export * from './loss.js';
export * from './pairs.js';
export * from './task.js';
export * from './save.js';
