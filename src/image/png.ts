/**
 * PNG → 8-bit RGB through pngjs, as PIL's open + convert('RGB') reads it: palette and grayscale
 * expand to RGB, alpha is dropped (not composited), 16-bit channels keep their high byte (PIL's
 * rawmode for 16-bit colour). Chunks are walked first so that a cut-off file is reported as
 * truncated, with the byte where it ends, and bytes after IEND are ignored as PIL ignores them.
 */
import { PNG } from 'pngjs';
import { ImageDecodeError } from './errors.js';
import type { DecodedImage } from './types.js';

export const PNG_SIGNATURE = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);

/** The bytes up to the end of IEND; throws `truncated` when a chunk or IEND is missing. */
export function throughIend(bytes: Uint8Array, source: string): Uint8Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = PNG_SIGNATURE.length;
  let sawData = false;
  while (at + 8 <= bytes.length) {
    const length = view.getUint32(at);
    const type = String.fromCharCode(...bytes.subarray(at + 4, at + 8));
    const end = at + 12 + length;
    if (end > bytes.length) {
      throw new ImageDecodeError(source, 'truncated', `the PNG is truncated: its ${type} chunk needs ${length} bytes from byte ${at + 8}, and the data ends at byte ${bytes.length}`);
    }
    if (type === 'IDAT') sawData = true;
    if (type === 'IEND') return bytes.subarray(0, end);
    at = end;
  }
  const what = sawData ? 'after its image data, before the IEND chunk' : 'before any image data (IDAT)';
  throw new ImageDecodeError(source, 'truncated', `the PNG is truncated: it ends at byte ${bytes.length}, ${what}`);
}

interface PngMetadata {
  width: number;
  height: number;
  depth: number;
  colorType: number;
  transColor?: number[];
  data: Uint8Array | Uint16Array;
}

export function decodePng(bytes: Uint8Array, source: string): DecodedImage {
  const whole = throughIend(bytes, source);
  let png: PngMetadata;
  try {
    // 16-bit samples stay 16-bit so that the high byte can be taken below; lower depths scale as PIL does (v·255/max).
    png = PNG.sync.read(Buffer.from(whole.buffer, whole.byteOffset, whole.byteLength), { skipRescale: true }) as unknown as PngMetadata;
  } catch (err) {
    throw new ImageDecodeError(source, 'corrupt', `the PNG cannot be decoded (${(err as Error).message})`, { cause: err });
  }
  const { width, height, depth, colorType, transColor, data } = png;
  const pixels = width * height;
  const rgb = new Uint8Array(pixels * 3);
  const shift = depth === 16 ? 8 : 0;
  // Palettes come out as 8-bit RGBA; other samples keep the file's depth.
  const max = colorType === 3 ? 0xff : 2 ** depth - 1;
  // Low bit depths are not rescaled with skipRescale; PIL maps them to 0..255 by v·255/max.
  const scale = depth < 8 && colorType !== 3 ? 255 / max : 1;
  let translucent = false;
  for (let p = 0, i = 0; p < pixels; p++, i += 4) {
    let r = data[i]!;
    let g = data[i + 1]!;
    let b = data[i + 2]!;
    const a = data[i + 3]!;
    // pngjs zeroes the tRNS colour's pixels; that colour is what they held.
    if (transColor && a === 0 && r === 0 && g === 0 && b === 0) {
      r = transColor[0]!;
      g = transColor[transColor.length === 1 ? 0 : 1]!;
      b = transColor[transColor.length === 1 ? 0 : 2]!;
      translucent = true;
    } else if (a !== max) translucent = true;
    rgb[p * 3] = scale === 1 ? r >> shift : Math.round(r * scale);
    rgb[p * 3 + 1] = scale === 1 ? g >> shift : Math.round(g * scale);
    rgb[p * 3 + 2] = scale === 1 ? b >> shift : Math.round(b * scale);
  }
  const conversions: string[] = [];
  if (colorType === 3) conversions.push('palette expanded to RGB');
  else if ((colorType & 2) === 0) conversions.push(`${depth}-bit grayscale expanded to RGB`);
  if (depth === 16) conversions.push('16-bit channels reduced to 8 bits (the high byte, as PIL reads 16-bit colour PNGs)');
  if (translucent) conversions.push("alpha dropped (not composited), as PIL's convert('RGB') does");
  return { width, height, data: rgb, format: 'png', source, conversions };
}
