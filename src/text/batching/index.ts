/** Continuous batching for serving: see types.ts for the contract and engine.ts for the loop. */
export * from './types.js';
export { createBatchEngine } from './engine.js';
export { ContextLengthError, EngineClosedError, InvalidRequestError, QueueFullError, UnknownModelError } from './errors.js';
export { StreamedText } from './stop-text.js';
