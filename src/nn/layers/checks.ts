/** Argument and shape checks shared by layers, with Keras-style messages. */
import { formatShape, type Shape } from '../../core/shape.js';

/** `value` if it is a positive integer; else "Dense 'dense': units must be a positive integer. Received: units=0". */
export function checkPositiveInt(value: number, name: string, where: string): number {
  if (!Number.isInteger(value) || value < 1) {
    throw new Error(`${where}: ${name} must be a positive integer. Received: ${name}=${JSON.stringify(value)}`);
  }
  return value;
}

/** `value` if 0 ≤ value < 1. */
export function checkRate(value: number, name: string, where: string): number {
  if (!(value >= 0 && value < 1)) throw new Error(`${where}: ${name} must be in [0, 1). Received: ${name}=${JSON.stringify(value)}`);
  return value;
}

/** The static size of the last axis, which a weight's shape depends on. */
export function lastDim(shape: Shape, where: string): number {
  return staticDim(shape, shape.length - 1, where);
}

/** The static size of `axis` (negative counts from the end). */
export function staticDim(shape: Shape, axis: number, where: string): number {
  const d = shape[axis < 0 ? axis + shape.length : axis];
  if (typeof d !== 'number') throw new Error(`${where}: axis ${axis} of the input must be static, received shape ${formatShape(shape)}`);
  return d;
}

/** Per-example size of a shape whose non-batch axes are static. */
export function exampleSize(shape: Shape, where: string): number {
  return shape.slice(1).reduce<number>((n, _d, i) => n * staticDim(shape, i + 1, where), 1);
}

/** `value` as a [height, width] pair. */
export function pair(value: number | readonly [number, number], name: string, where: string): [number, number] {
  const p: [number, number] = typeof value === 'number' ? [value, value] : [value[0], value[1]];
  p.forEach((v) => checkPositiveInt(v, name, where));
  return p;
}
