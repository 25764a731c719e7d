/** Typed errors of the GGUF reader; each names the file and, when there is one, the metadata key or tensor. */

export class GgufError extends Error {
  override name = 'GgufError';
  constructor(
    readonly file: string,
    message: string,
    /** The metadata key concerned, if any. */
    readonly key?: string,
    /** The tensor concerned, if any. */
    readonly tensor?: string,
  ) {
    super(`${file}: ${message}`);
  }
}

/** The bytes do not follow the format: bad magic, a cut-short file, counts or offsets that do not add up. */
export class GgufFormatError extends GgufError {
  override name = 'GgufFormatError';
}

/** A tensor whose ggml type cannot be decoded here. */
export class GgufTensorTypeError extends GgufError {
  override name = 'GgufTensorTypeError';
  constructor(
    file: string,
    tensor: string,
    readonly type: string,
    message: string,
  ) {
    super(file, message, undefined, tensor);
  }
}

/** A metadata key that is missing or holds the wrong kind of value. */
export class GgufMetadataError extends GgufError {
  override name = 'GgufMetadataError';
  constructor(file: string, key: string, message: string) {
    super(file, message, key);
  }
}
