/** The Vision Transformer encoder, shared by ViT checkpoints and CLIP's vision tower. */
export * from './activations.js';
export * from './config.js';
export * from './model.js';
