/**
 * preprocessor_config.json → the steps of transformers' CLIPImageProcessor / ViTImageProcessor, with
 * their class defaults for keys a config leaves out. Every value is checked here, so a bad config
 * fails when it is loaded, naming the key.
 */
import { ImageProcessorConfigError } from './errors.js';
import { PIL_RESAMPLE, type Resample } from './resize.js';

/** How the resize step picks the output size. */
export type SizeRule = { kind: 'shortest-edge'; shortestEdge: number } | { kind: 'fixed'; height: number; width: number };

export interface ImageProcessorConfig {
  /** The class the config names (CLIPImageProcessor, ViTImageProcessor, ...). */
  type: string;
  resize?: { rule: SizeRule; resample: Resample };
  centerCrop?: { height: number; width: number };
  /** Multiplies the 0..255 values (usually 1/255). */
  rescaleFactor?: number;
  normalize?: { mean: [number, number, number]; std: [number, number, number] };
}

/** Defaults of the processors Forja follows: transformers' class attributes. */
interface ClassDefaults {
  resample: number;
  size: Record<string, number>;
  /** An int size means the shortest edge (false) or a square (true). */
  defaultToSquare: boolean;
  doCenterCrop: boolean;
  cropSize: { height: number; width: number };
  mean: [number, number, number];
  std: [number, number, number];
}

const OPENAI_CLIP_MEAN: [number, number, number] = [0.48145466, 0.4578275, 0.40821073];
const OPENAI_CLIP_STD: [number, number, number] = [0.26862954, 0.26130258, 0.27577711];
const IMAGENET_STANDARD: [number, number, number] = [0.5, 0.5, 0.5];

const CLIP: ClassDefaults = {
  resample: 3,
  size: { shortest_edge: 224 },
  defaultToSquare: false,
  doCenterCrop: true,
  cropSize: { height: 224, width: 224 },
  mean: OPENAI_CLIP_MEAN,
  std: OPENAI_CLIP_STD,
};
const VIT: ClassDefaults = {
  resample: 2,
  size: { height: 224, width: 224 },
  defaultToSquare: true,
  doCenterCrop: false,
  cropSize: { height: 224, width: 224 },
  mean: IMAGENET_STANDARD,
  std: IMAGENET_STANDARD,
};

/** Processor classes (and their fast and feature-extractor spellings) with the same steps. */
const CLASSES: Readonly<Record<string, ClassDefaults>> = {
  CLIPImageProcessor: CLIP,
  CLIPImageProcessorFast: CLIP,
  CLIPFeatureExtractor: CLIP,
  ViTImageProcessor: VIT,
  ViTImageProcessorFast: VIT,
  ViTFeatureExtractor: VIT,
};

export const SUPPORTED_PROCESSORS = Object.keys(CLASSES);

const describe = (v: unknown): string => (v === undefined ? 'nothing' : JSON.stringify(v));

export function parseImageProcessorConfig(json: Readonly<Record<string, unknown>>, where = 'preprocessor_config.json'): ImageProcessorConfig {
  const fail = (key: string, reason: string): never => {
    throw new ImageProcessorConfigError(where, key, reason);
  };
  const typeKey = json.image_processor_type !== undefined ? 'image_processor_type' : 'feature_extractor_type';
  const type = json[typeKey] ?? 'CLIPImageProcessor';
  if (typeof type !== 'string' || !(type in CLASSES)) fail(typeKey, `= ${describe(type)} is not a processor Forja follows (supported: ${SUPPORTED_PROCESSORS.join(', ')})`);
  const d = CLASSES[type as string]!;
  const bool = (key: string, fallback: boolean): boolean => {
    const v = json[key] ?? fallback;
    return typeof v === 'boolean' ? v : fail(key, `must be true or false, received ${describe(v)}`);
  };
  const positiveInt = (key: string, v: unknown): number => (Number.isInteger(v) && (v as number) > 0 ? (v as number) : fail(key, `must be a positive integer, received ${describe(v)}`));
  const triple = (key: string, fallback: [number, number, number], nonZero: boolean): [number, number, number] => {
    const v = json[key] ?? fallback;
    const list = typeof v === 'number' ? [v, v, v] : v;
    if (!Array.isArray(list) || list.length !== 3 || !list.every((x) => typeof x === 'number' && Number.isFinite(x) && (!nonZero || x !== 0))) {
      fail(key, `must be 3 finite numbers (one per RGB channel)${nonZero ? ', none of them 0' : ''}, received ${describe(v)}`);
    }
    return list as [number, number, number];
  };

  const config: ImageProcessorConfig = { type: type as string };
  if (bool('do_resize', true)) {
    const resampleValue = json.resample ?? d.resample;
    const resample = typeof resampleValue === 'number' ? PIL_RESAMPLE[resampleValue] : undefined;
    if (!resample) {
      const known = Object.entries(PIL_RESAMPLE).map(([k, v]) => `${k} ${v}`).join(', ');
      fail('resample', `= ${describe(resampleValue)} is not a PIL resampling filter (known: ${known})`);
    }
    config.resize = { rule: sizeRule(json.size ?? d.size, d.defaultToSquare, fail, positiveInt), resample: resample! };
  }
  if (bool('do_center_crop', d.doCenterCrop)) {
    const crop = json.crop_size ?? d.cropSize;
    if (typeof crop === 'number') config.centerCrop = { height: positiveInt('crop_size', crop), width: crop };
    else if (crop && typeof crop === 'object' && 'height' in crop && 'width' in crop) {
      const c = crop as { height: unknown; width: unknown };
      config.centerCrop = { height: positiveInt('crop_size.height', c.height), width: positiveInt('crop_size.width', c.width) };
    } else fail('crop_size', `must be an integer or {"height", "width"}, received ${describe(crop)}`);
  }
  if (bool('do_rescale', true)) {
    const f = json.rescale_factor ?? 1 / 255;
    config.rescaleFactor = typeof f === 'number' && Number.isFinite(f) && f > 0 ? f : fail('rescale_factor', `must be a positive number, received ${describe(f)}`);
  }
  if (bool('do_normalize', true)) config.normalize = { mean: triple('image_mean', d.mean, false), std: triple('image_std', d.std, true) };
  return config;
}

/** transformers' get_size_dict, then the rule CLIP's and ViT's resize apply. */
function sizeRule(size: unknown, defaultToSquare: boolean, fail: (key: string, reason: string) => never, positiveInt: (key: string, v: unknown) => number): SizeRule {
  if (typeof size === 'number') {
    const s = positiveInt('size', size);
    return defaultToSquare ? { kind: 'fixed', height: s, width: s } : { kind: 'shortest-edge', shortestEdge: s };
  }
  if (size && typeof size === 'object' && !Array.isArray(size)) {
    const s = size as Record<string, unknown>;
    if ('shortest_edge' in s) {
      if (s.longest_edge !== undefined) fail('size', `has both shortest_edge and longest_edge, a rule CLIP and ViT processors do not use`);
      return { kind: 'shortest-edge', shortestEdge: positiveInt('size.shortest_edge', s.shortest_edge) };
    }
    if ('height' in s && 'width' in s) return { kind: 'fixed', height: positiveInt('size.height', s.height), width: positiveInt('size.width', s.width) };
  }
  return fail('size', `must be {"shortest_edge"}, {"height", "width"} or an integer, received ${describe(size)}`);
}
