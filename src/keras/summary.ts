/** Keras-style model summaries: one row per layer with its output shape and parameter count. */
import type { Dim } from '../core/shape.js';
import { InputLayer, type Layer } from '../nn/index.js';
import type { Model } from './model.js';

/** The model as the table Keras' `model.summary()` prints. */
export function summarize(model: Model): string {
  const header = ['Layer (type)', 'Output Shape', 'Param #'];
  const rows = model.layers.map((layer) => [`${layer.name} (${layer.className})`, outputShapeOf(model, layer), paramCell(layer)]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)) + 2);
  const line = (cells: string[]): string => ' ' + cells.map((c, i) => (i === 2 ? c : c.padEnd(widths[i]!))).join('');
  const width = widths.reduce((a, b) => a + b, 1);
  const trainable = count(model.trainableWeights.map((v) => v.size));
  const total = model.countParams();
  return [
    `Model: "${model.name}"`,
    '_'.repeat(width),
    line(header),
    '='.repeat(width),
    ...rows.map(line),
    '='.repeat(width),
    `Total params: ${formatCount(total)}`,
    `Trainable params: ${formatCount(trainable)}`,
    `Non-trainable params: ${formatCount(total - trainable)}`,
    '_'.repeat(width),
  ].join('\n');
}

function outputShapeOf(model: Model, layer: Layer): string {
  const calls = model.layerCalls.filter((c) => c.layer === layer);
  if (calls.length === 0) return '?';
  if (calls.length > 1) return 'multiple';
  const shapes = calls[0]!.outputs.map((t) => formatKerasShape(t.shape));
  return shapes.length === 1 ? shapes[0]! : `[${shapes.join(', ')}]`;
}

function paramCell(layer: Layer): string {
  if (!layer.built && !(layer instanceof InputLayer)) return '0 (unbuilt)';
  return formatCount(layer.countParams());
}

/** (None, 32): the batch axis prints as None, as in Keras. */
export function formatKerasShape(shape: readonly Dim[]): string {
  const dims = shape.map((d, i) => (i === 0 && d === 'batch' ? 'None' : String(d)));
  return `(${dims.join(', ')}${dims.length === 1 ? ',' : ''})`;
}

const count = (sizes: number[]): number => sizes.reduce((a, b) => a + b, 0);
const formatCount = (n: number): string => n.toLocaleString('en-US');
