/**
 * Cropping a KV cache after assisted generation's rejected draft tokens (transformers' DynamicCache.crop):
 * the one length check every cache shares. The caches themselves are append-cache.ts.
 */

/** Throws, naming `where`, unless `length` is an integer in [0, cached]: a cache can only be cropped shorter. */
export function checkCropLength(cached: number, length: number, where: string): void {
  if (!Number.isInteger(length) || length < 0 || length > cached) {
    throw new Error(`${where}: cannot crop a cache of ${cached} positions to ${length}; the length must be an integer in [0, ${cached}]`);
  }
}
