/**
 * JPEG → 8-bit RGB. The marker segments are walked first, so that a cut-off file is reported as
 * truncated and the variants Forja does not decode (lossless, arithmetic-coded, 12-bit, 4 channels
 * without an Adobe marker) are refused by name. Decoding is sharp's (libjpeg-turbo, as PIL: the
 * same pixels) when it loads, else jpeg-js with libjpeg's upsampling and colour conversion
 * (within 3 levels). Grayscale expands to RGB; Adobe CMYK and YCCK go through jpeg-js, converted
 * without a colour profile as PIL's convert('RGB') does; EXIF orientation is applied, as
 * transformers' load_image does.
 */
import jpeg from 'jpeg-js';
import { ImageDecodeError } from './errors.js';
import { applyOrientation, exifOrientation, ORIENTATION_NAMES } from './exif.js';
import { yccToRgb, type Sampling } from './jpeg-color.js';
import { loadSharp, sharpRgb } from './sharp.js';
import type { DecodedImage, RgbImage } from './types.js';

interface JpegLayout {
  precision: number;
  components: number;
  /** The SOF marker's low nibble: 0-2 DCT, 3 lossless, 9-15 arithmetic. */
  frameType: number;
  sampling: Sampling[];
  /** Adobe APP14 transform: 0 none (RGB/CMYK), 1 YCbCr, 2 YCCK; undefined without the marker. */
  adobeTransform: number | undefined;
  exif: Uint8Array | undefined;
  /** Where the first scan's entropy-coded data starts. */
  scanStart: number;
}

const EOI = Buffer.from([0xff, 0xd9]);
const EXIF_ID = [0x45, 0x78, 0x69, 0x66, 0, 0];
const ADOBE_ID = [0x41, 0x64, 0x6f, 0x62, 0x65];
const startsWith = (seg: Uint8Array, id: readonly number[]): boolean => id.every((b, i) => seg[i] === b);

/** The segments before the first scan; throws `truncated` when one runs past the end. */
function readLayout(bytes: Uint8Array, source: string): JpegLayout {
  const truncated = (where: string): ImageDecodeError =>
    new ImageDecodeError(source, 'truncated', `the JPEG is truncated: it ends at byte ${bytes.length}, ${where}`);
  let at = 2;
  let frame: Pick<JpegLayout, 'precision' | 'components' | 'frameType' | 'sampling'> | undefined;
  let adobeTransform: number | undefined;
  let exif: Uint8Array | undefined;
  for (;;) {
    while (at < bytes.length && bytes[at] === 0xff && bytes[at + 1] === 0xff) at++; // fill bytes
    if (at + 4 > bytes.length) throw truncated('inside its header, before any image data');
    if (bytes[at] !== 0xff) throw new ImageDecodeError(source, 'corrupt', `the JPEG is corrupt: expected a marker at byte ${at}, found 0x${bytes[at]!.toString(16)}`);
    const marker = bytes[at + 1]!;
    const length = (bytes[at + 2]! << 8) | bytes[at + 3]!;
    const end = at + 2 + length;
    if (end > bytes.length) throw truncated(`inside its 0xFF${marker.toString(16).toUpperCase()} segment, before any image data`);
    const seg = bytes.subarray(at + 4, end);
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      const components = seg[5]!;
      const sampling = Array.from({ length: components }, (_, c) => ({ h: seg[7 + c * 3]! >> 4, v: seg[7 + c * 3]! & 0x0f }));
      frame = { precision: seg[0]!, components, frameType: marker & 0x0f, sampling };
    } else if (marker === 0xe1 && startsWith(seg, EXIF_ID)) exif = seg.subarray(EXIF_ID.length);
    else if (marker === 0xee && startsWith(seg, ADOBE_ID)) adobeTransform = seg[11];
    else if (marker === 0xda) {
      if (!frame) throw new ImageDecodeError(source, 'corrupt', 'the JPEG is corrupt: its image data comes before any frame header (SOF)');
      return { ...frame, adobeTransform, exif, scanStart: end };
    }
    at = end;
  }
}

function refuseUnsupported(layout: JpegLayout, source: string): void {
  const refuse = (what: string): never => {
    throw new ImageDecodeError(source, 'unsupported', `${what}, which Forja does not decode; convert it to an 8-bit baseline or progressive JPEG (or a PNG) first`);
  };
  const t = layout.frameType;
  if (t === 3 || t === 7 || t === 11 || t === 15) refuse('a lossless JPEG');
  if (t >= 9) refuse('an arithmetic-coded JPEG');
  if (layout.precision !== 8) refuse(`a ${layout.precision}-bit JPEG`);
  if (layout.components === 2 || layout.components > 4) refuse(`a JPEG with ${layout.components} colour components`);
  if (layout.components === 4 && layout.adobeTransform === undefined) {
    refuse('a 4-channel (CMYK or YCCK) JPEG without an Adobe marker, so its colour space is ambiguous,');
  }
}

export type JpegEngine = 'sharp' | 'jpeg-js';

export interface JpegOptions {
  /** Default sharp when it loads; CMYK and YCCK always use jpeg-js (sharp would colour-manage them). */
  engine?: JpegEngine;
}

/** The structure of a JPEG checked without decoding its pixels: complete, and a variant Forja decodes. */
export function checkJpeg(bytes: Uint8Array, source: string): JpegLayout {
  const layout = readLayout(bytes, source);
  refuseUnsupported(layout, source);
  // Entropy-coded data never holds FF D9 (FF is stuffed as FF 00), so EOI after the scan marks a complete file.
  if (Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).indexOf(EOI, layout.scanStart) < 0) {
    throw new ImageDecodeError(source, 'truncated', `the JPEG is truncated: its image data ends at byte ${bytes.length} without the end-of-image marker`);
  }
  return layout;
}

export async function decodeJpeg(bytes: Uint8Array, source: string, options: JpegOptions = {}): Promise<DecodedImage> {
  const layout = checkJpeg(bytes, source);
  const sharp = layout.components !== 4 && options.engine !== 'jpeg-js' ? await loadSharp() : undefined;
  if (options.engine === 'sharp' && !sharp && layout.components !== 4) throw new Error('decodeJpeg: the sharp engine was asked for and sharp does not load');
  let pixels: RgbImage;
  try {
    pixels = sharp ? await sharpRgb(sharp, bytes) : withJpegJs(bytes, layout);
  } catch (err) {
    throw new ImageDecodeError(source, 'corrupt', `the JPEG cannot be decoded (${(err as Error).message})`, { cause: err });
  }
  const conversions: string[] = [];
  if (layout.components === 1) conversions.push('grayscale expanded to RGB');
  if (layout.components === 4) conversions.push(`${layout.adobeTransform === 2 ? 'YCCK' : 'CMYK'} converted to RGB without a colour profile, as PIL does`);
  let image = pixels;
  const orientation = layout.exif ? exifOrientation(layout.exif) : 1;
  if (orientation > 1) {
    image = applyOrientation(image, orientation);
    conversions.push(`${ORIENTATION_NAMES[orientation]} (EXIF orientation ${orientation})`);
  }
  return { ...image, format: 'jpeg', source, conversions };
}

function withJpegJs(bytes: Uint8Array, layout: JpegLayout): RgbImage {
  // YCbCr (no Adobe marker) is converted here as libjpeg does; jpeg-js converts Adobe-marked files itself.
  const ycc = layout.components === 3 && layout.adobeTransform === undefined;
  const decoded = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: false, colorTransform: ycc ? false : undefined });
  return { width: decoded.width, height: decoded.height, data: ycc ? yccToRgb(decoded.data, decoded.width, decoded.height, layout.sampling) : decoded.data };
}
