/**
 * Image grids as PNG (samples, reconstructions, interpolations) and reading
 * PNGs back as float arrays, via pngjs.
 */
import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../io/atomic.js';
import { PNG } from 'pngjs';

/**
 * How 3-channel pixels are laid out: 'chw' is planar (as NCHW model tensors
 * are), 'hwc' interleaved RGBRGB… Single-channel data is the same either way.
 */
export type ChannelLayout = 'chw' | 'hwc';

export interface ImageGridOptions {
  /** Height of each image in pixels. */
  rows: number;
  /** Width of each image in pixels. */
  cols: number;
  /** Images to draw (default: as many as `images` holds). */
  count?: number;
  /** 1 (grey) or 3 (RGB); default 1. */
  channels?: 1 | 3;
  /** Layout of 3-channel images (default 'chw'). */
  layout?: ChannelLayout;
  /** Images per grid row (default ceil(sqrt(count))). */
  gridCols?: number;
  /** Pixels of padding between and around images, before scaling (default 2). */
  pad?: number;
  /** Integer nearest-neighbour upscaling of every image pixel (default 1). */
  scale?: number;
  /** Values mapped to black and white; values outside are clipped (default [0, 1]). */
  range?: readonly [number, number];
  /** Intensity in [0, 1] of padding and empty cells (default 0.5, so black and white images both stand out). */
  background?: number;
}

export interface GridGeometry {
  count: number;
  gridCols: number;
  gridRows: number;
  width: number;
  height: number;
}

function checkInt(value: number, name: string, min: number): void {
  if (!Number.isInteger(value) || value < min) {
    throw new RangeError(`imageGridPng: ${name} must be an integer >= ${min}, got ${value}`);
  }
}

/**
 * Pixel size of the grid: each cell is cols*scale wide, with pad*scale pixels
 * between cells and around the border.
 */
export function gridGeometry(images: Float32Array, options: ImageGridOptions): GridGeometry {
  const { rows, cols, channels = 1, pad = 2, scale = 1 } = options;
  checkInt(rows, 'rows', 1);
  checkInt(cols, 'cols', 1);
  if (channels !== 1 && channels !== 3) {
    throw new RangeError(`imageGridPng: channels must be 1 or 3, got ${String(channels)}`);
  }
  checkInt(pad, 'pad', 0);
  checkInt(scale, 'scale', 1);
  const per = rows * cols * channels;
  let count = options.count;
  if (count === undefined) {
    if (images.length % per !== 0) {
      throw new RangeError(
        `imageGridPng: images length ${images.length} is not a multiple of rows*cols*channels = ${per}; pass count`,
      );
    }
    count = images.length / per;
  }
  checkInt(count, 'count', 1);
  if (count * per > images.length) {
    throw new RangeError(
      `imageGridPng: ${count} images of ${rows}x${cols}x${channels} need ${count * per} values, got ${images.length}`,
    );
  }
  const gridCols = options.gridCols ?? Math.ceil(Math.sqrt(count));
  checkInt(gridCols, 'gridCols', 1);
  const gridRows = Math.ceil(count / gridCols);
  const p = pad * scale;
  return {
    count,
    gridCols,
    gridRows,
    width: gridCols * cols * scale + (gridCols + 1) * p,
    height: gridRows * rows * scale + (gridRows + 1) * p,
  };
}

/** Encodes images as one PNG grid (greyscale PNG for 1 channel, RGB for 3). */
export function imageGridPng(images: Float32Array, options: ImageGridOptions): Buffer {
  const { rows, cols, channels = 1, layout = 'chw', scale = 1, pad = 2 } = options;
  const [lo, hi] = options.range ?? [0, 1];
  const background = options.background ?? 0.5;
  if (!(Number.isFinite(lo) && Number.isFinite(hi) && lo < hi)) {
    throw new RangeError(`imageGridPng: range must be finite [lo, hi] with lo < hi, got [${lo}, ${hi}]`);
  }
  if (!(background >= 0 && background <= 1)) {
    throw new RangeError(`imageGridPng: background must be in [0, 1], got ${background}`);
  }
  if (layout !== 'chw' && layout !== 'hwc') {
    throw new RangeError(`imageGridPng: layout must be 'chw' or 'hwc', got ${String(layout)}`);
  }
  const geo = gridGeometry(images, options);
  const png = new PNG({ width: geo.width, height: geo.height });
  const bg = Math.round(background * 255);
  png.data.fill(bg);
  for (let i = 3; i < png.data.length; i += 4) png.data[i] = 255;

  const span = hi - lo;
  // NaN maps to 0 (black) so a diverged model still yields a viewable grid.
  const toByte = (v: number): number => {
    const t = (v - lo) / span;
    return t > 0 ? (t < 1 ? Math.round(t * 255) : 255) : 0;
  };
  const plane = rows * cols;
  const per = plane * channels;
  const p = pad * scale;
  for (let n = 0; n < geo.count; n++) {
    const x0 = p + (n % geo.gridCols) * (cols * scale + p);
    const y0 = p + Math.floor(n / geo.gridCols) * (rows * scale + p);
    const base = n * per;
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) {
        let red: number;
        let green: number;
        let blue: number;
        if (channels === 1) {
          red = green = blue = toByte(images[base + r * cols + c]!);
        } else if (layout === 'chw') {
          const at = base + r * cols + c;
          red = toByte(images[at]!);
          green = toByte(images[at + plane]!);
          blue = toByte(images[at + 2 * plane]!);
        } else {
          const at = base + (r * cols + c) * 3;
          red = toByte(images[at]!);
          green = toByte(images[at + 1]!);
          blue = toByte(images[at + 2]!);
        }
        for (let dy = 0; dy < scale; dy++) {
          let o = ((y0 + r * scale + dy) * geo.width + x0 + c * scale) * 4;
          for (let dx = 0; dx < scale; dx++, o += 4) {
            png.data[o] = red;
            png.data[o + 1] = green;
            png.data[o + 2] = blue;
          }
        }
      }
    }
  }
  return PNG.sync.write(png, { colorType: channels === 1 ? 0 : 2, inputColorType: 6, inputHasAlpha: true });
}

/** imageGridPng, written atomically to `path`. */
export async function writeImageGrid(
  path: string,
  images: Float32Array,
  options: ImageGridOptions,
): Promise<void> {
  await writeFileAtomic(path, imageGridPng(images, options));
}

export interface ReadPngOptions {
  /** Force 1 (luma, BT.601 weights) or 3 channels; default follows the PNG's colour type. */
  channels?: 1 | 3;
  /** Layout of 3-channel output (default 'chw', matching imageGridPng). */
  layout?: ChannelLayout;
}

export interface PngImage {
  width: number;
  height: number;
  channels: 1 | 3;
  /** height*width*channels values in [0, 1]; alpha is dropped. */
  data: Float32Array;
}

/**
 * Decodes a PNG into floats in [0, 1]. Grey PNGs give 1 channel, colour and
 * palette PNGs 3, unless `channels` says otherwise. 16-bit PNGs are reduced
 * to 8 bits by pngjs.
 */
export async function readPng(path: string, options: ReadPngOptions = {}): Promise<PngImage> {
  let buf: Buffer;
  try {
    buf = await readFile(path);
  } catch (err) {
    throw new Error(`readPng: cannot read ${path}: ${(err as Error).message}`);
  }
  let png: ReturnType<typeof PNG.sync.read>;
  try {
    png = PNG.sync.read(buf);
  } catch (err) {
    throw new Error(`readPng: ${path} is not a valid PNG: ${(err as Error).message}`);
  }
  const { width, height, data: rgba } = png;
  // Colour type bit 2 set means colour (2, 3 palette, 6); 0 and 4 are grey.
  const native: 1 | 3 = (png.colorType & 2) !== 0 ? 3 : 1;
  const channels = options.channels ?? native;
  if (channels !== 1 && channels !== 3) {
    throw new RangeError(`readPng: channels must be 1 or 3, got ${String(channels)}`);
  }
  const layout = options.layout ?? 'chw';
  if (layout !== 'chw' && layout !== 'hwc') {
    throw new RangeError(`readPng: layout must be 'chw' or 'hwc', got ${String(layout)}`);
  }
  const plane = width * height;
  const data = new Float32Array(plane * channels);
  for (let i = 0; i < plane; i++) {
    const r = rgba[4 * i]! / 255;
    const g = rgba[4 * i + 1]! / 255;
    const b = rgba[4 * i + 2]! / 255;
    if (channels === 1) {
      data[i] = native === 1 ? r : Math.min(1, 0.299 * r + 0.587 * g + 0.114 * b);
    } else if (layout === 'chw') {
      data[i] = r;
      data[i + plane] = g;
      data[i + 2 * plane] = b;
    } else {
      data[3 * i] = r;
      data[3 * i + 1] = g;
      data[3 * i + 2] = b;
    }
  }
  return { width, height, channels, data };
}
