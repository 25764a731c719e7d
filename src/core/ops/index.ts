/** Every op, by family. Model code imports from here. */
export * from './elementwise.js';
export * from './activation.js';
export * from './reduce.js';
export * from './linalg.js';
export * from './movement.js';
export { int64s, scalar, type Operand } from './util.js';
export * from './sequence.js';
export * from './nn.js';
export * from './random.js';
export * from './image.js';
export * from './quantized.js';
export * from './fused.js';
