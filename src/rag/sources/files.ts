/**
 * One file of a plan read far enough to know its hash (so an unchanged file is never parsed), and its
 * text extracted on demand: UTF-8 text and Markdown as they are, HTML through html-to-text, PDF through
 * pdf.js; a PNG or JPEG is checked complete and gets its name as its text (ingest embeds its pixels). A file is binary when its first 8 KB hold a NUL byte or are not UTF-8.
 */
import { createHash } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import { probeImage } from '../../image/decode.js';
import { ImageDecodeError } from '../../image/errors.js';
import { htmlText } from './html.js';
import { markdownHeadings, titleOf } from './markdown.js';
import { pdfText } from './pdf.js';
import { SourceSkipError, type SourceDocument, type SourceFormat } from './types.js';
import type { SourceFile } from './walk.js';

export const SNIFF_BYTES = 8192;

/** A source whose id and hash are known; `load` extracts its text and throws a SourceSkipError if it cannot. */
export interface SourceItem {
  id: string;
  path: string;
  hash: string;
  format: SourceFormat;
  load(): Promise<SourceDocument>;
}

export function sha256(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export function looksBinary(bytes: Uint8Array): boolean {
  const head = bytes.subarray(0, SNIFF_BYTES);
  if (head.includes(0)) return true;
  try {
    // stream: a character cut at the 8 KB boundary is not an error.
    new TextDecoder('utf-8', { fatal: true }).decode(head, { stream: head.length < bytes.length });
    return false;
  } catch {
    return true;
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

function decode(bytes: Uint8Array, path: string): string {
  try {
    return utf8.decode(bytes);
  } catch (err) {
    throw new SourceSkipError(path, 'invalid-utf8', 'the file is not UTF-8 text', undefined, { cause: err });
  }
}

async function readHead(path: string): Promise<Uint8Array> {
  const fh = await fsp.open(path, 'r');
  try {
    const buf = Buffer.alloc(SNIFF_BYTES + 4);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

function unreadable(path: string, err: unknown): SourceSkipError {
  const why = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
  return new SourceSkipError(path, 'unreadable', `cannot read the file (${why})`, undefined, { cause: err });
}

async function extract(file: SourceFile, format: SourceFormat, bytes: Uint8Array, hash: string): Promise<SourceDocument> {
  const base = { id: file.id, path: file.path, hash, format };
  let doc: SourceDocument;
  if (format === 'image') {
    try {
      probeImage(bytes, file.path);
    } catch (err) {
      if (!(err instanceof ImageDecodeError)) throw err;
      throw new SourceSkipError(file.path, 'broken-image', err.reason, undefined, { cause: err });
    }
    // Its only text is its name, which BM25 can match and results show.
    return { ...base, text: file.id, headings: [] };
  }
  if (format === 'pdf') {
    const { text, pages, title } = await pdfText(bytes, file.path);
    doc = { ...base, title, text, headings: [], pages };
  } else {
    if (looksBinary(bytes)) throw new SourceSkipError(file.path, 'binary', 'a binary file (NUL bytes or invalid UTF-8 in its first 8 KB)');
    const raw = decode(bytes, file.path);
    if (format === 'html') {
      const { text, headings, title } = htmlText(raw);
      doc = { ...base, title: title ?? titleOf(headings), text, headings };
    } else if (format === 'markdown') {
      const headings = markdownHeadings(raw);
      doc = { ...base, title: titleOf(headings), text: raw, headings };
    } else {
      doc = { ...base, text: raw, headings: [] };
    }
  }
  if (doc.text.trim().length === 0) {
    const why = format === 'pdf' ? 'the PDF has no text layer (scanned pages need OCR first)' : 'the file holds no text';
    throw new SourceSkipError(file.path, 'empty', why);
  }
  return doc;
}

/**
 * Reads `file` and hashes its bytes. Throws a SourceSkipError for a file that cannot be read, or whose
 * format is not one ingestion reads (binary or unsupported).
 */
export async function readFileSource(file: SourceFile): Promise<SourceItem> {
  const format = file.format;
  if (format === undefined || format === 'beir') {
    let head: Uint8Array;
    try {
      head = await readHead(file.path);
    } catch (err) {
      throw unreadable(file.path, err);
    }
    if (looksBinary(head)) throw new SourceSkipError(file.path, 'binary', 'a binary file (NUL bytes or invalid UTF-8 in its first 8 KB)');
    throw new SourceSkipError(file.path, 'unsupported', 'not a format ingestion reads (.txt, .md, .html, .htm, .pdf, corpus.jsonl; .png, .jpg with an image embedding model)');
  }
  let bytes: Uint8Array;
  try {
    bytes = await fsp.readFile(file.path);
  } catch (err) {
    throw unreadable(file.path, err);
  }
  const hash = sha256(bytes);
  return { id: file.id, path: file.path, hash, format, load: () => extract(file, format, bytes, hash) };
}
