/** What evaluation throws: the file, the line and what is wrong there, for src/apps to word. */

export class DatasetError extends Error {
  override name = 'DatasetError';
  constructor(
    readonly path: string,
    readonly reason: string,
    /** 1-based line, when the problem is on one. */
    readonly line?: number,
    options?: ErrorOptions,
  ) {
    super(`${line === undefined ? path : `${path}:${line}`}: ${reason}`, options);
  }
}

/** A TREC run that cannot be written or read back (an id with whitespace, a malformed line). */
export class RunFileError extends Error {
  override name = 'RunFileError';
  constructor(
    readonly path: string,
    readonly reason: string,
    readonly line?: number,
    options?: ErrorOptions,
  ) {
    super(`${line === undefined ? path : `${path}:${line}`}: ${reason}`, options);
  }
}
