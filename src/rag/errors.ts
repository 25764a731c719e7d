/** Typed errors of src/rag: they carry the facts; src/apps words them with the flags that fix them. */

export class StoreMismatchError extends Error {
  constructor(
    readonly location: string,
    readonly setting: string,
    readonly stored: string | number,
    readonly requested: string | number,
  ) {
    super(`${location} was built with ${setting} ${stored}, not ${requested}`);
    this.name = 'StoreMismatchError';
  }
}

export class StoreLockedError extends Error {
  constructor(readonly location: string, options?: ErrorOptions) {
    super(`${location} is locked by another writer`, options);
    this.name = 'StoreLockedError';
  }
}

export class StoreCorruptError extends Error {
  constructor(readonly location: string, readonly reason: string, options?: ErrorOptions) {
    super(`${location} is not a readable Forja store: ${reason}`, options);
    this.name = 'StoreCorruptError';
  }
}

export class StoreUnreachableError extends Error {
  constructor(readonly location: string, readonly reason: string, options?: ErrorOptions) {
    super(`cannot reach ${location}: ${reason}`, options);
    this.name = 'StoreUnreachableError';
  }
}

/** A source file that cannot be read as text (encrypted or broken PDF, binary file). Ingestion skips it. */
export class SourceUnreadableError extends Error {
  constructor(readonly path: string, readonly reason: string, options?: ErrorOptions) {
    super(`${path}: ${reason}`, options);
    this.name = 'SourceUnreadableError';
  }
}
