/**
 * `pipeline('zero-shot-image-classification', model)`: CLIP scores an image against candidate labels
 * put into a prompt template. As transformers' ZeroShotImageClassificationPipeline, the default
 * template is "This is a photo of {}.", the scores are a softmax of logits_per_image over the labels,
 * and the result is sorted best first. A list of templates is a prompt ensemble (CLIP paper, §3.1.4):
 * each label's text embedding is the normalised mean over its prompts.
 */
import type { PixelValues, ProcessorInput } from '../image/processor.js';
import { ClipModel, unitVector, type ClipLoadOptions } from '../models/clip/clip-model.js';
import { withLoadProgress, type LoadProgressOptions } from './load-progress.js';

export const DEFAULT_HYPOTHESIS_TEMPLATE = 'This is a photo of {}.';

export interface ZeroShotImageClassificationOptions extends ClipLoadOptions, LoadProgressOptions {}

export interface ZeroShotCallOptions {
  /** "a photo of a {}", or several templates to average over; default "This is a photo of {}.". */
  hypothesis_template?: string | readonly string[];
}

export interface LabelScore {
  label: string;
  score: number;
}

export interface ZeroShotImageClassificationPipeline {
  (image: ProcessorInput, candidateLabels: readonly string[], options?: ZeroShotCallOptions): Promise<LabelScore[]>;
  (images: readonly ProcessorInput[] | PixelValues, candidateLabels: readonly string[], options?: ZeroShotCallOptions): Promise<LabelScore[][]>;
  readonly task: 'zero-shot-image-classification';
  readonly model: ClipModel;
  dispose(): Promise<void>;
}

/** The prompts of each label, checked. */
export function prompts(labels: readonly string[], template: string | readonly string[] = DEFAULT_HYPOTHESIS_TEMPLATE): string[][] {
  if (!Array.isArray(labels) || labels.length === 0 || !labels.every((l) => typeof l === 'string' && l.trim() !== '')) {
    throw new TypeError('zero-shot-image-classification: candidate labels must be a non-empty list of non-empty strings');
  }
  const templates = typeof template === 'string' ? [template] : [...template];
  if (templates.length === 0 || !templates.every((t) => typeof t === 'string' && t.includes('{}'))) {
    throw new TypeError(`zero-shot-image-classification: hypothesis_template must be a string with "{}" where the label goes, or a list of such strings; received ${JSON.stringify(template)}`);
  }
  return labels.map((label) => templates.map((t) => t.replaceAll('{}', label)));
}

function softmax(logits: readonly number[]): number[] {
  const max = Math.max(...logits);
  const e = logits.map((l) => Math.exp(l - max));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / sum);
}

/** Scores of each image over `labels`, best first. */
export async function classifyImages(model: ClipModel, images: readonly ProcessorInput[] | PixelValues, labels: readonly string[], options: ZeroShotCallOptions = {}): Promise<LabelScore[][]> {
  const byLabel = prompts(labels, options.hypothesis_template);
  const flat = await model.getTextEmbeddings(byLabel.flat());
  const perTemplate = byLabel[0]!.length;
  const labelEmbeds = byLabel.map((_, i) => {
    const mean = new Float32Array(model.dimension);
    for (let t = 0; t < perTemplate; t++) flat[i * perTemplate + t]!.forEach((v, j) => (mean[j]! += v));
    return unitVector(mean);
  });
  const scale = model.model.logitScale;
  const imageEmbeds = await model.getImageEmbeddings(images);
  return imageEmbeds.map((im) => {
    const logits = labelEmbeds.map((t) => scale * t.reduce((s, v, j) => s + v * im[j]!, 0));
    return softmax(logits)
      .map((score, i) => ({ label: labels[i]!, score }))
      .sort((a, b) => b.score - a.score);
  });
}

async function load(model: string, options: ZeroShotImageClassificationOptions): Promise<ClipModel> {
  const { progress_callback: _callback, onProgress: _onProgress, ...rest } = options;
  return withLoadProgress(model, options, (onProgress) => ClipModel.load(model, { ...rest, onProgress }));
}

/** A zero-shot image classifier over a hub id, a directory, or a CLIP model already loaded. */
export async function zeroShotImageClassificationPipeline(model: string | ClipModel, options: ZeroShotImageClassificationOptions = {}): Promise<ZeroShotImageClassificationPipeline> {
  const clip = typeof model === 'string' ? await load(model, options) : model;
  const call = async (input: ProcessorInput | readonly ProcessorInput[] | PixelValues, labels: readonly string[], opts: ZeroShotCallOptions = {}) => {
    const pixels = input !== null && typeof input === 'object' && 'dims' in input;
    const batched = Array.isArray(input) || pixels;
    const results = await classifyImages(clip, batched ? (input as readonly ProcessorInput[] | PixelValues) : [input as ProcessorInput], labels, opts);
    return batched ? results : results[0]!;
  };
  return Object.assign(call as ZeroShotImageClassificationPipeline, { task: 'zero-shot-image-classification' as const, model: clip, dispose: () => clip.release() });
}
