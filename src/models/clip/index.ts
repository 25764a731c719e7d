/** CLIP: CLIPModel checkpoints, text and image embeddings in one space, zero-shot classification's scores. */
export { CLIP_ARCHITECTURE, parseClipConfig, type ClipConfig, type ClipTextConfig } from './config.js';
export { Clip, CLIP_VISION_NAMING, clipInitialWeights, clipTensors, ProjectionMismatchError } from './model.js';
export { ClipSession, IMAGE_EMBEDS, TEXT_EMBEDS, textGraph, visionGraph } from './graph.js';
export { ClipModel, isClipCheckpoint, unitVector, loadClipModel, NoTokenizerError, type ClipLoadOptions, type ClipScores, type ClipTextInput, type EmbeddingOptions, type ImageEmbeddingOptions } from './clip-model.js';
