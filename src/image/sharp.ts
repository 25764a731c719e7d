/**
 * sharp (libvips with libjpeg-turbo, the decoder PIL uses), loaded on first use: it is an optional
 * dependency, and importing Forja should not load a native image library.
 */
import type sharpModule from 'sharp';
import type { DecodedImage } from './types.js';

type Sharp = typeof sharpModule;
let loading: Promise<Sharp | undefined> | undefined;

/** The sharp module, or undefined when it is not installed or does not load on this platform. */
export function loadSharp(): Promise<Sharp | undefined> {
  loading ??= import('sharp').then(
    (m) => (m as unknown as { default: Sharp }).default ?? (m as unknown as Sharp),
    () => undefined,
  );
  return loading;
}

/** 8-bit RGB pixels as libjpeg-turbo decodes them: no colour management (PIL ignores ICC profiles), no rotation. */
export async function sharpRgb(sharp: Sharp, bytes: Uint8Array): Promise<Pick<DecodedImage, 'width' | 'height' | 'data'>> {
  const { data, info } = await sharp(bytes, { ignoreIcc: true, failOn: 'error' }).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const px = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (info.channels === 3) return { width: info.width, height: info.height, data: px };
  const rgb = new Uint8Array(info.width * info.height * 3);
  for (let p = 0; p < info.width * info.height; p++) rgb.fill(px[p * info.channels]!, p * 3, p * 3 + 3);
  return { width: info.width, height: info.height, data: rgb };
}
