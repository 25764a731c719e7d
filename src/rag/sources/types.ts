/**
 * What ingestion reads from a file or a BEIR corpus line: the extracted text with its structure (headings,
 * pages) and a content hash, or the reason it was skipped.
 */
import { SourceUnreadableError } from '../errors.js';

export type SourceFormat = 'text' | 'markdown' | 'html' | 'pdf' | 'beir' | 'image';

/** A heading line of the extracted text. */
export interface Heading {
  /** 1 (outermost) to 6. */
  level: number;
  title: string;
  /** [start, end) of the heading line in the text; `start` is its first non-blank character. */
  start: number;
  end: number;
}

/** One PDF page's range [start, end) in the extracted text. */
export interface PageSpan {
  /** 1-based. */
  page: number;
  start: number;
  end: number;
}

export interface SourceDocument {
  /** The path relative to the ingested folder (`/`-separated), or the BEIR `_id`. */
  id: string;
  /** Absolute path of the file (of the corpus file, for a BEIR document). */
  path: string;
  title?: string;
  /** Offsets everywhere are UTF-16 indices into this string. */
  text: string;
  /** Ascending by start. */
  headings: Heading[];
  /** PDFs only, ascending and disjoint. */
  pages?: PageSpan[];
  /** sha256 (hex) of the source bytes: the file, or the corpus line. */
  hash: string;
  format: SourceFormat;
}

export type SkipReason =
  /** NUL bytes or invalid UTF-8 in the first 8 KB. */
  | 'binary'
  /** Invalid UTF-8 further in. */
  | 'invalid-utf8'
  /** Not a format ingestion reads. */
  | 'unsupported'
  /** A PDF that needs a password. */
  | 'encrypted'
  /** A PDF that pdf.js cannot parse. */
  | 'broken-pdf'
  /** A PNG or JPEG that cannot be decoded (truncated, corrupt, or a variant src/image refuses). */
  | 'broken-image'
  /** An image, and the embedding model does not embed images (only CLIP-like models do). */
  | 'no-image-embedder'
  /** The file or folder cannot be read (permissions, vanished). */
  | 'unreadable'
  /** A BEIR line that is not a JSON object with `_id` and `text`. */
  | 'bad-line'
  /** No text at all (whitespace only, or a PDF without a text layer). */
  | 'empty'
  /** A second document with an id already seen in this run. */
  | 'duplicate-id';

export interface SkippedSource {
  path: string;
  /** 1-based line of a BEIR corpus. */
  line?: number;
  reason: SkipReason;
  /** What is wrong, without the location. */
  message: string;
}

/** A source that ingestion skips, with a reason code; thrown by the readers, caught and reported by ingest. */
export class SourceSkipError extends SourceUnreadableError {
  override name = 'SourceSkipError';
  constructor(
    readonly file: string,
    readonly code: SkipReason,
    reason: string,
    readonly line?: number,
    options?: ErrorOptions,
  ) {
    super(line === undefined ? file : `${file}:${line}`, reason, options);
  }

  get skipped(): SkippedSource {
    return { path: this.file, line: this.line, reason: this.code, message: this.reason };
  }
}
