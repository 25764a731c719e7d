/**
 * The image every decoder returns and the processor reads: 8-bit RGB, rows top to bottom, pixels
 * interleaved (H, W, 3), as PIL holds an image after convert('RGB').
 */
export interface RgbImage {
  readonly width: number;
  readonly height: number;
  /** width × height × 3 bytes. */
  readonly data: Uint8Array;
}

export type ImageFormat = 'png' | 'jpeg';

export interface DecodedImage extends RgbImage {
  readonly format: ImageFormat;
  /** The file path, URL or "<buffer>" it was read from. */
  readonly source: string;
  /** What was changed to reach 8-bit RGB (alpha dropped, 16 → 8 bits, CMYK → RGB, EXIF rotation), in order; empty for plain RGB. */
  readonly conversions: readonly string[];
}

/** Checks an RgbImage built by hand (its data length against its size). */
export function checkRgbImage(image: RgbImage, where: string): void {
  const { width, height, data } = image;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new RangeError(`${where}: an image needs a positive integer width and height, received ${width}×${height}`);
  }
  if (!(data instanceof Uint8Array) || data.length !== width * height * 3) {
    throw new RangeError(`${where}: a ${width}×${height} RGB image holds ${width * height * 3} bytes, received ${data instanceof Uint8Array ? data.length : typeof data}`);
  }
}
