/** Typed errors of src/image: they name the image (file, URL or buffer) or the config key that is wrong. */

export type ImageErrorCode =
  /** The bytes end before the image does. */
  | 'truncated'
  /** Not PNG or JPEG (another image format, or not an image at all). */
  | 'not-an-image'
  /** A PNG or JPEG whose data cannot be decoded. */
  | 'corrupt'
  /** A valid image in a variant Forja refuses rather than guess at (e.g. CMYK without an Adobe marker). */
  | 'unsupported'
  /** The file or URL cannot be read. */
  | 'unreadable';

export class ImageDecodeError extends Error {
  override name = 'ImageDecodeError';
  constructor(
    /** The file path, URL or "<buffer>". */
    readonly source: string,
    readonly code: ImageErrorCode,
    readonly reason: string,
    options?: ErrorOptions,
  ) {
    super(`${source}: ${reason}`, options);
  }
}

/** A preprocessor_config.json value the image processor cannot follow. */
export class ImageProcessorConfigError extends Error {
  override name = 'ImageProcessorConfigError';
  constructor(
    /** e.g. ".../preprocessor_config.json" */
    readonly where: string,
    readonly key: string,
    reason: string,
  ) {
    super(`${where}: "${key}" ${reason}`);
  }
}
