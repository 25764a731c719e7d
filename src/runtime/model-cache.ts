/**
 * ONNX Runtime's optimized models on disk (src/io/cache.ts), so a second run of the same graph skips ORT's graph
 * optimisation. Measured on 2 busy cores: the MNIST diffusion U-Net's training step takes 1.6–2.5 s to optimise
 * and 0.5 s to load optimized; the autoencoder's small step graph loads in ~10 ms either way. The key is the
 * emitted ModelProto's bytes, ORT's version, the session options and the CPU (level 'all' optimisations are
 * specific to the hardware).
 */
import { cpus } from 'node:os';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ort from 'onnxruntime-node';
import { cacheEnabled, cacheKey, readCacheEntry, writeCacheEntry } from '../io/cache.js';

const KIND = 'onnx-optimized';

/**
 * Largest emitted model cached. Bigger ones hold their weights as initializers (inference graphs of real
 * checkpoints): hashing and rewriting hundreds of megabytes costs more than ORT's optimisation saves.
 */
export const MAX_CACHED_MODEL_BYTES = 32 * 2 ** 20;

/** How a session was made: from a cached optimized model, optimized and stored, or without the cache. */
export type ModelCacheOutcome = 'hit' | 'miss' | 'rebuilt' | 'off';

export function modelCacheKey(bytes: Uint8Array, options: ort.InferenceSession.SessionOptions): string {
  return cacheKey('forja-onnx-optimized-v1', ort.env.versions.node ?? '?', process.arch, cpus()[0]?.model ?? '?', JSON.stringify(options), bytes);
}

/** A session for `bytes`, through the cache when it is on and the model is small enough. */
export async function createCachedSession(
  bytes: Uint8Array,
  options: ort.InferenceSession.SessionOptions,
): Promise<{ session: ort.InferenceSession; cache: ModelCacheOutcome }> {
  if (!cacheEnabled() || bytes.byteLength > MAX_CACHED_MODEL_BYTES) {
    return { session: await ort.InferenceSession.create(bytes, options), cache: 'off' };
  }
  const key = modelCacheKey(bytes, options);
  const entry = readCacheEntry(KIND, key);
  if (entry.payload) {
    try {
      // Already optimized with these options: optimising again would only cost time.
      return { session: await ort.InferenceSession.create(entry.payload, { ...options, graphOptimizationLevel: 'disabled' }), cache: 'hit' };
    } catch {
      // Intact but refused (e.g. another ORT build wrote it under a colliding key): rebuild it below.
    }
  }
  const outcome = entry.payload || entry.corrupt ? 'rebuilt' : 'miss';
  const dir = await mkdtemp(join(tmpdir(), 'forja-ort-'));
  try {
    const optimized = join(dir, 'model.onnx');
    let session: ort.InferenceSession;
    try {
      // ORT warns that level 'all' output is hardware-specific: the key holds the CPU, and the library never prints.
      session = await ort.InferenceSession.create(bytes, { ...options, optimizedModelFilePath: optimized, logSeverityLevel: 3 });
    } catch {
      // Saving can fail where running would not (e.g. a model ORT cannot serialize): run it uncached.
      return { session: await ort.InferenceSession.create(bytes, options), cache: 'off' };
    }
    // A cache that cannot be written (read-only home, full disk) only costs the next run its optimisation.
    await readFile(optimized).then((b) => writeCacheEntry(KIND, key, b)).catch(() => undefined);
    return { session, cache: outcome };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
