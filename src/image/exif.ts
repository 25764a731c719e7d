/**
 * EXIF orientation: the tag a camera writes instead of rotating the pixels. transformers' load_image
 * applies it (PIL.ImageOps.exif_transpose) before converting to RGB, so decoding does too.
 */
import type { RgbImage } from './types.js';

const ORIENTATION_TAG = 0x0112;

/** The orientation (1-8) in a TIFF-structured EXIF block, or 1 when absent or unreadable. */
export function exifOrientation(tiff: Uint8Array): number {
  if (tiff.length < 8) return 1;
  const little = tiff[0] === 0x49 && tiff[1] === 0x49;
  if (!little && !(tiff[0] === 0x4d && tiff[1] === 0x4d)) return 1;
  const view = new DataView(tiff.buffer, tiff.byteOffset, tiff.byteLength);
  const u16 = (at: number): number => view.getUint16(at, little);
  if (u16(2) !== 42) return 1;
  const ifd = view.getUint32(4, little);
  if (ifd + 2 > tiff.length) return 1;
  const entries = u16(ifd);
  for (let i = 0; i < entries; i++) {
    const at = ifd + 2 + i * 12;
    if (at + 12 > tiff.length) return 1;
    // Type 3 is SHORT; its value sits in the first two bytes of the value field.
    if (u16(at) === ORIENTATION_TAG && u16(at + 2) === 3) {
      const v = u16(at + 8);
      return v >= 1 && v <= 8 ? v : 1;
    }
  }
  return 1;
}

/** PIL's names for the transpose each orientation calls for. */
export const ORIENTATION_NAMES: Readonly<Record<number, string>> = {
  2: 'mirrored left-right',
  3: 'rotated 180°',
  4: 'mirrored top-bottom',
  5: 'transposed',
  6: 'rotated 90° clockwise',
  7: 'transversed',
  8: 'rotated 90° counter-clockwise',
};

/** The upright image: output pixel (x, y) read from the source pixel this orientation maps it to. */
export function applyOrientation(image: RgbImage, orientation: number): RgbImage {
  if (orientation <= 1 || orientation > 8) return image;
  const { width: w, height: h, data } = image;
  const swap = orientation >= 5;
  const [ow, oh] = swap ? [h, w] : [w, h];
  const out = new Uint8Array(data.length);
  const source: (x: number, y: number) => number = {
    2: (x: number, y: number) => y * w + (w - 1 - x),
    3: (x: number, y: number) => (h - 1 - y) * w + (w - 1 - x),
    4: (x: number, y: number) => (h - 1 - y) * w + x,
    5: (x: number, y: number) => x * w + y,
    6: (x: number, y: number) => (h - 1 - x) * w + y,
    7: (x: number, y: number) => (h - 1 - x) * w + (w - 1 - y),
    8: (x: number, y: number) => x * w + (w - 1 - y),
  }[orientation]!;
  for (let y = 0, o = 0; y < oh; y++) {
    for (let x = 0; x < ow; x++, o += 3) {
      const s = source(x, y) * 3;
      out[o] = data[s]!;
      out[o + 1] = data[s + 1]!;
      out[o + 2] = data[s + 2]!;
    }
  }
  return { width: ow, height: oh, data: out };
}
