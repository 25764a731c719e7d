/**
 * PDF text through pdf.js (the legacy build, which runs on Node), page by page, with the page map.
 * Lines come from the text items' end-of-line flags and positions; a vertical gap wider than a line
 * and a half starts a new paragraph (a blank line), so the chunker can split there. Pages are joined by
 * a blank line.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { TextItem } from 'pdfjs-dist/types/src/display/api.js';
import { SourceSkipError, type PageSpan } from './types.js';

export interface PdfText {
  text: string;
  pages: PageSpan[];
  /** The document information dictionary's Title, if any. */
  title?: string;
}

type Item = Pick<TextItem, 'str' | 'hasEOL' | 'transform' | 'height'>;

interface Line {
  text: string;
  y: number;
  height: number;
}

const PDFJS_DIR = dirname(createRequire(import.meta.url).resolve('pdfjs-dist/package.json'));
const PARAGRAPH_GAP = 1.5;

function pageLines(items: readonly Item[]): Line[] {
  const lines: Line[] = [];
  let line: Line | undefined;
  for (const item of items) {
    const y = item.transform[5] ?? 0;
    const height = item.height || Math.abs(item.transform[3] ?? 0);
    // An item lower or higher by more than half its height starts a line even without an EOL flag.
    if (line && item.str.length > 0 && Math.abs(line.y - y) > 0.5 * Math.max(line.height, height, 1)) {
      lines.push(line);
      line = undefined;
    }
    if (!line) line = { text: '', y, height };
    line.text += item.str;
    line.height = Math.max(line.height, height);
    if (item.hasEOL) {
      lines.push(line);
      line = undefined;
    }
  }
  if (line) lines.push(line);
  return lines.filter((l) => l.text.trim().length > 0);
}

function pageText(items: readonly Item[]): string {
  let text = '';
  let prev: Line | undefined;
  for (const line of pageLines(items)) {
    if (prev) {
      const gap = prev.y - line.y;
      // A jump upwards is a new column or a new block.
      text += gap < 0 || gap > PARAGRAPH_GAP * Math.max(prev.height, line.height, 1) ? '\n\n' : '\n';
    }
    text += line.text.replace(/\s+$/, '');
    prev = line;
  }
  return text;
}

function unreadable(path: string, err: unknown): SourceSkipError {
  const name = (err as { name?: string } | undefined)?.name;
  const message = err instanceof Error ? err.message : String(err);
  if (name === 'PasswordException') return new SourceSkipError(path, 'encrypted', 'the PDF is encrypted (it needs a password)', undefined, { cause: err });
  return new SourceSkipError(path, 'broken-pdf', `pdf.js cannot read the PDF: ${message}`, undefined, { cause: err });
}

/** The text of a PDF, page by page. An encrypted or broken PDF throws a SourceSkipError. */
export async function pdfText(bytes: Uint8Array, path: string): Promise<PdfText> {
  // pdf.js takes ~0.2 s to load: only ingesting a PDF pays it, not every command that imports Forja.
  const { getDocument } = await import('pdfjs-dist/legacy/build/pdf.mjs');
  const task = getDocument({
    // pdf.js may transfer (detach) the buffer it is given.
    data: new Uint8Array(bytes),
    verbosity: 0,
    isEvalSupported: false,
    disableFontFace: true,
    useSystemFonts: false,
    cMapUrl: join(PDFJS_DIR, 'cmaps') + '/',
    cMapPacked: true,
    standardFontDataUrl: join(PDFJS_DIR, 'standard_fonts') + '/',
  });
  let doc;
  try {
    doc = await task.promise;
  } catch (err) {
    await task.destroy().catch(() => undefined);
    throw unreadable(path, err);
  }
  try {
    const pages: PageSpan[] = [];
    let text = '';
    for (let p = 1; p <= doc.numPages; p++) {
      let items: Item[];
      try {
        const page = await doc.getPage(p);
        const content = await page.getTextContent();
        items = content.items.filter((i): i is TextItem => 'str' in i);
        page.cleanup();
      } catch (err) {
        throw unreadable(path, new Error(`page ${p}: ${err instanceof Error ? err.message : String(err)}`));
      }
      if (p > 1) text += '\n\n';
      const start = text.length;
      text += pageText(items);
      pages.push({ page: p, start, end: text.length });
    }
    let title: string | undefined;
    try {
      const info = (await doc.getMetadata()).info as { Title?: unknown } | undefined;
      if (typeof info?.Title === 'string' && info.Title.trim()) title = info.Title.trim();
    } catch {
      // A broken information dictionary only loses the title.
    }
    return { text, pages, title };
  } finally {
    await doc.destroy();
  }
}
