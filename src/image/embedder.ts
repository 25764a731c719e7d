/**
 * What retrieval needs from a model that embeds images into the same space as its texts (CLIP).
 * src/models implements it; src/rag only talks to this.
 */
import type { ImageInput, LoadImageOptions } from './decode.js';
import type { RgbImage } from './types.js';

export interface ImageEmbedder {
  /** Names the model in stores and error messages (hub id or directory). */
  readonly modelId: string;
  readonly dimension: number;
  /** One L2-normalised vector per image (path, URL, bytes or decoded image), in order. */
  embedImages(images: readonly (ImageInput | RgbImage)[], options?: Pick<LoadImageOptions, 'onConversion'>): Promise<Float32Array[]>;
}

export const isImageEmbedder = (x: unknown): x is ImageEmbedder =>
  x !== null && typeof x === 'object' && typeof (x as { embedImages?: unknown }).embedImages === 'function';
