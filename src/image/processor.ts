/**
 * The image processor of a model directory (preprocessor_config.json), with the semantics of
 * transformers' PIL-based CLIPImageProcessor / ViTImageProcessor: RGB, resize (Pillow's filters),
 * center crop (zero padding when the image is smaller), rescale in float64 then float32, normalise
 * in float32. Output is pixel_values, (N, 3, H, W) float32.
 */
import { existsSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { loadImage, type ImageInput, type LoadImageOptions } from './decode.js';
import { ImageProcessorConfigError } from './errors.js';
import { parseImageProcessorConfig, type ImageProcessorConfig, type SizeRule } from './processor-config.js';
import { resize, type Window } from './resize.js';
import { checkRgbImage, type RgbImage } from './types.js';

export const PREPROCESSOR_CONFIG = 'preprocessor_config.json';

/** Row-major (N, 3, H, W) float32, shaped like a transformers.js Tensor. */
export interface PixelValues {
  data: Float32Array;
  dims: [number, 3, number, number];
}

/** An image to process: a path, URL or bytes to decode, or an image already decoded. */
export type ProcessorInput = ImageInput | RgbImage;

export const isRgbImage = (x: unknown): x is RgbImage =>
  x !== null && typeof x === 'object' && !(x instanceof Uint8Array) && !(x instanceof URL) && 'data' in x && 'width' in x && 'height' in x;

/** (height, width) after the resize step, as transformers' get_resize_output_image_size computes it. */
export function resizedSize(rule: SizeRule, height: number, width: number): { height: number; width: number } {
  if (rule.kind === 'fixed') return { height: rule.height, width: rule.width };
  const s = rule.shortestEdge;
  // Python's int() of the float ratio: the long side is truncated, not rounded.
  if (width <= height) return { width: s, height: Math.trunc((s * height) / width) };
  return { height: s, width: Math.trunc((s * width) / height) };
}

/** The `crop`-sized rectangle centred in an image of `size`, as transformers' center_crop places it (offsets negative when the crop is larger). */
function centerWindow(size: { height: number; width: number }, crop: { height: number; width: number }): Window {
  return { top: Math.floor((size.height - crop.height) / 2), left: Math.floor((size.width - crop.width) / 2), height: crop.height, width: crop.width };
}

/**
 * transformers' center_crop: output pixel (x, y) is input (x + ⌊(in_w − out_w)/2⌋, y + ⌊(in_h − out_h)/2⌋);
 * where the image is smaller that lands outside it, which is its zero padding (⌈·/2⌉ before).
 */
export function centerCrop(image: RgbImage, height: number, width: number): RgbImage {
  const { top, left } = centerWindow(image, { height, width });
  const data = new Uint8Array(width * height * 3);
  const x0 = Math.max(0, -left);
  const x1 = Math.min(width, image.width - left);
  for (let y = 0; y < height; y++) {
    const row = y + top;
    if (row < 0 || row >= image.height || x1 <= x0) continue;
    const from = (row * image.width + x0 + left) * 3;
    data.set(image.data.subarray(from, from + (x1 - x0) * 3), (y * width + x0) * 3);
  }
  return { width, height, data };
}

export class ImageProcessor {
  constructor(
    readonly config: ImageProcessorConfig,
    /** Names the config in errors. */
    readonly where = PREPROCESSOR_CONFIG,
  ) {}

  static fromJson(json: Readonly<Record<string, unknown>>, where = PREPROCESSOR_CONFIG): ImageProcessor {
    return new ImageProcessor(parseImageProcessorConfig(json, where), where);
  }

  /** The processor of a model directory, from its preprocessor_config.json. */
  static async fromDir(dir: string): Promise<ImageProcessor> {
    const path = join(dir, PREPROCESSOR_CONFIG);
    if (!existsSync(path)) throw new ImageProcessorConfigError(dir, PREPROCESSOR_CONFIG, "is missing, so the model's image preprocessing is unknown");
    let json: unknown;
    try {
      json = JSON.parse(await fsp.readFile(path, 'utf8'));
    } catch (err) {
      throw new ImageProcessorConfigError(path, '(file)', `is not valid JSON (${(err as Error).message})`);
    }
    if (!json || typeof json !== 'object' || Array.isArray(json)) throw new ImageProcessorConfigError(path, '(file)', 'must hold a JSON object');
    return ImageProcessor.fromJson(json as Record<string, unknown>, path);
  }

  /** (height, width) of pixel_values when every image comes out the same size (a crop or a fixed resize), else undefined. */
  get outputSize(): { height: number; width: number } | undefined {
    const { centerCrop: crop, resize: r } = this.config;
    if (crop) return crop;
    return r?.rule.kind === 'fixed' ? { height: r.rule.height, width: r.rule.width } : undefined;
  }

  /** The 8-bit image after resize and crop: what the model sees, before rescale and normalise. */
  prepare(image: RgbImage): RgbImage {
    checkRgbImage(image, this.where);
    const r = this.config.resize;
    const crop = this.config.centerCrop;
    const size = r ? resizedSize(r.rule, image.height, image.width) : image;
    if (r && crop && crop.height <= size.height && crop.width <= size.width) {
      // The crop lies inside the resized image: resample only the pixels it keeps.
      return resize(image, size.width, size.height, r.resample, centerWindow(size, crop));
    }
    const out = r ? resize(image, size.width, size.height, r.resample) : image;
    return crop && (crop.height !== out.height || crop.width !== out.width) ? centerCrop(out, crop.height, crop.width) : out;
  }

  /** (3, H, W) float32 of one prepared image, written into `out` at `offset` (planar, channel first). */
  pixelValues(prepared: RgbImage, out = new Float32Array(prepared.width * prepared.height * 3), offset = 0): Float32Array {
    const { rescaleFactor, normalize } = this.config;
    const plane = prepared.width * prepared.height;
    const f32 = Math.fround;
    for (let c = 0; c < 3; c++) {
      const mean = normalize ? f32(normalize.mean[c]!) : 0;
      const std = normalize ? f32(normalize.std[c]!) : 1;
      // Each step rounds to float32, as numpy does: rescale in float64 then cast, then (x − mean) / std in float32.
      const lut = new Float32Array(256);
      for (let v = 0; v < 256; v++) {
        const x = rescaleFactor !== undefined ? f32(v * rescaleFactor) : v;
        lut[v] = normalize ? f32(f32(x - mean) / std) : x;
      }
      const base = offset + c * plane;
      for (let p = 0; p < plane; p++) out[base + p] = lut[prepared.data[p * 3 + c]!]!;
    }
    return out;
  }

  /** pixel_values for one or more images (paths, URLs, bytes or decoded images), in order. */
  async preprocess(inputs: ProcessorInput | readonly ProcessorInput[], options: LoadImageOptions = {}): Promise<PixelValues> {
    const list = Array.isArray(inputs) ? (inputs as readonly ProcessorInput[]) : [inputs as ProcessorInput];
    const images = await Promise.all(list.map((i) => (isRgbImage(i) ? i : loadImage(i, options))));
    return this.stack(images.map((im) => this.prepare(im)));
  }

  /** Prepared images of one size → one (N, 3, H, W) batch. */
  stack(prepared: readonly RgbImage[]): PixelValues {
    if (prepared.length === 0) throw new RangeError(`${this.where}: no images to process`);
    const { width, height } = prepared[0]!;
    const size = width * height * 3;
    const data = new Float32Array(prepared.length * size);
    prepared.forEach((im, i) => {
      if (im.width !== width || im.height !== height) {
        throw new RangeError(`${this.where}: image ${i} comes out ${im.width}×${im.height} and image 0 ${width}×${height}; without a center crop or a fixed size the images of one batch must be the same size`);
      }
      this.pixelValues(im, data, i * size);
    });
    return { data, dims: [prepared.length, 3, height, width] };
  }
}
