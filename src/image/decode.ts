/**
 * Reading an image from a file path, a URL (http(s), file:, data:) or bytes, and decoding it to 8-bit
 * RGB. The format comes from the bytes, not the name; anything other than PNG or JPEG is refused with
 * what it looks like.
 */
import * as fsp from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { ImageDecodeError } from './errors.js';
import { checkJpeg, decodeJpeg } from './jpeg.js';
import { decodePng, PNG_SIGNATURE, throughIend } from './png.js';
import type { DecodedImage, ImageFormat } from './types.js';

/** What loadImage reads: a path, a URL (string or URL), or the file's bytes. */
export type ImageInput = string | URL | Uint8Array | ArrayBuffer;

export interface LoadImageOptions {
  /** Names a Buffer input in errors (default "<buffer>"). */
  name?: string;
  signal?: AbortSignal;
  /** Told what was changed to reach 8-bit RGB (16 → 8 bits, CMYK → RGB, alpha dropped, ...), for images that needed it. */
  onConversion?: (source: string, conversions: readonly string[]) => void;
}

const OTHER_FORMATS: ReadonlyArray<[string, (b: Uint8Array) => boolean]> = [
  ['a GIF image', (b) => b[0] === 0x47 && b[1] === 0x49 && b[2] === 0x46 && b[3] === 0x38],
  ['a WebP image', (b) => ascii(b, 0, 4) === 'RIFF' && ascii(b, 8, 12) === 'WEBP'],
  ['a BMP image', (b) => b[0] === 0x42 && b[1] === 0x4d],
  ['a TIFF image', (b) => (b[0] === 0x49 && b[1] === 0x49 && b[2] === 0x2a) || (b[0] === 0x4d && b[1] === 0x4d && b[3] === 0x2a)],
  ['a HEIF/AVIF image', (b) => ascii(b, 4, 8) === 'ftyp'],
  ['a PDF document', (b) => ascii(b, 0, 5) === '%PDF-'],
];

function ascii(b: Uint8Array, from: number, to: number): string {
  return String.fromCharCode(...b.subarray(from, to));
}

const isPrefixOf = (head: Uint8Array, sig: Uint8Array): boolean => head.every((v, i) => v === sig[i]);

/** PNG or JPEG by the first bytes; anything else throws, saying what it looks like. */
function formatOfBytes(bytes: Uint8Array, source: string): ImageFormat {
  if (bytes.length === 0) throw new ImageDecodeError(source, 'not-an-image', 'the file is empty');
  if (bytes.length >= PNG_SIGNATURE.length && isPrefixOf(bytes.subarray(0, PNG_SIGNATURE.length), PNG_SIGNATURE)) return 'png';
  if (bytes[0] === 0xff && bytes[1] === 0xd8 && (bytes.length < 3 || bytes[2] === 0xff)) {
    if (bytes.length < 4) throw new ImageDecodeError(source, 'truncated', `the JPEG is truncated: it ends at byte ${bytes.length}, inside its header`);
    return 'jpeg';
  }
  if (bytes.length < PNG_SIGNATURE.length && isPrefixOf(bytes, PNG_SIGNATURE)) {
    throw new ImageDecodeError(source, 'truncated', `the PNG is truncated: it ends at byte ${bytes.length}, inside its signature`);
  }
  const other = OTHER_FORMATS.find(([, test]) => test(bytes));
  const what = other ? other[0] : 'not an image';
  throw new ImageDecodeError(source, 'not-an-image', `${what} (Forja reads PNG and JPEG; the first bytes are ${hex(bytes.subarray(0, 8))})`);
}

/** Decode PNG or JPEG bytes; `source` names them in errors. */
export async function decodeImage(bytes: Uint8Array, source = '<buffer>'): Promise<DecodedImage> {
  return formatOfBytes(bytes, source) === 'png' ? decodePng(bytes, source) : decodeJpeg(bytes, source);
}

/**
 * Check that bytes hold a complete PNG or JPEG that Forja decodes, without decoding the pixels
 * (cheap: the chunks or marker segments are walked). Returns the format; throws as decodeImage would.
 */
export function probeImage(bytes: Uint8Array, source = '<buffer>'): ImageFormat {
  const format = formatOfBytes(bytes, source);
  if (format === 'png') throughIend(bytes, source);
  else checkJpeg(bytes, source);
  return format;
}

const hex = (b: Uint8Array): string => [...b].map((v) => v.toString(16).padStart(2, '0')).join(' ');

const URL_SCHEME = /^(https?|file|data):/i;

/** The image at a path or URL, or in bytes; decoding errors name where it came from. */
export async function loadImage(input: ImageInput, options: LoadImageOptions = {}): Promise<DecodedImage> {
  const image = await readAndDecode(input, options);
  if (image.conversions.length > 0) options.onConversion?.(image.source, image.conversions);
  return image;
}

async function readAndDecode(input: ImageInput, options: LoadImageOptions): Promise<DecodedImage> {
  if (input instanceof Uint8Array) return decodeImage(input, options.name ?? '<buffer>');
  if (input instanceof ArrayBuffer) return decodeImage(new Uint8Array(input), options.name ?? '<buffer>');
  if (input instanceof URL || URL_SCHEME.test(input)) {
    const url = input instanceof URL ? input : new URL(input);
    if (url.protocol === 'file:') return decodeImage(await readFile(fileURLToPath(url), url.href), url.href);
    return decodeImage(await fetchBytes(url, options.signal), options.name ?? shortUrl(url));
  }
  return decodeImage(await readFile(input, input), input);
}

async function readFile(path: string, source: string): Promise<Uint8Array> {
  try {
    return await fsp.readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'a directory, not an image file' : `cannot read the file (${code ?? (err as Error).message})`;
    throw new ImageDecodeError(source, 'unreadable', why, { cause: err });
  }
}

/** data: URLs are long; errors name their media type only. */
function shortUrl(url: URL): string {
  return url.protocol === 'data:' ? `data:${url.pathname.split(/[;,]/)[0]}…` : url.href;
}

async function fetchBytes(url: URL, signal: AbortSignal | undefined): Promise<Uint8Array> {
  let res: Response;
  try {
    res = await fetch(url, signal ? { signal } : {});
  } catch (err) {
    if (signal?.aborted) throw err;
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    throw new ImageDecodeError(shortUrl(url), 'unreadable', `cannot fetch the image (${cause?.code ?? cause?.message ?? (err as Error).message})`, { cause: err });
  }
  if (!res.ok) throw new ImageDecodeError(shortUrl(url), 'unreadable', `the server answered HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}`);
  return new Uint8Array(await res.arrayBuffer());
}
