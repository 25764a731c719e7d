import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pdfText } from '../../../src/rag/sources/pdf.js';
import { SourceSkipError } from '../../../src/rag/sources/types.js';
import { pdfBytes } from '../../helpers/pdf-bytes.js';

test('pdfText extracts each page and maps pages to exact ranges', async () => {
  const bytes = pdfBytes([{ lines: ['First page, line one.', 'Line two (with parens).'], singleObject: true }, ['Second page text.']], { title: 'A Tiny PDF' });
  const { text, pages, title } = await pdfText(bytes, 'tiny.pdf');
  assert.equal(title, 'A Tiny PDF');
  assert.equal(pages.length, 2);
  assert.equal(text.slice(pages[0]!.start, pages[0]!.end), 'First page, line one.\nLine two (with parens).');
  assert.equal(text.slice(pages[1]!.start, pages[1]!.end), 'Second page text.');
  assert.deepEqual(pages.map((p) => p.page), [1, 2]);
  assert.ok(pages[0]!.end < pages[1]!.start, 'pages are disjoint and in order');
  assert.equal(text.slice(pages[0]!.end, pages[1]!.start), '\n\n');
});

test('a vertical gap between lines becomes a paragraph break', async () => {
  const bytes = pdfBytes([{ lines: ['Para one.', 'Still para one.', 'Para two.'], gapsBefore: [2] }]);
  const { text } = await pdfText(bytes, 'gap.pdf');
  assert.equal(text, 'Para one.\nStill para one.\n\nPara two.');
});

test('the source bytes are left intact (pdf.js may detach its buffer)', async () => {
  const bytes = pdfBytes([['x']]);
  const copy = bytes.slice();
  await pdfText(bytes, 'x.pdf');
  assert.deepEqual(bytes, copy);
});

test('an encrypted PDF is a SourceSkipError with reason encrypted', async () => {
  const err = await pdfText(pdfBytes([['secret']], { encrypted: true }), 'locked.pdf').catch((e: unknown) => e);
  assert.ok(err instanceof SourceSkipError);
  assert.equal(err.code, 'encrypted');
  assert.equal(err.file, 'locked.pdf');
  assert.match(err.message, /^locked\.pdf: .*encrypted.*password/);
});

test('a broken PDF is a SourceSkipError with reason broken-pdf', async () => {
  for (const bytes of [new TextEncoder().encode('%PDF-1.4\nnot really a pdf\n'), new Uint8Array(0)]) {
    const err = await pdfText(bytes, 'broken.pdf').catch((e: unknown) => e);
    assert.ok(err instanceof SourceSkipError, String(err));
    assert.equal(err.code, 'broken-pdf');
    assert.match(err.message, /^broken\.pdf: pdf\.js cannot read the PDF/);
  }
});

test('a PDF with a broken cross-reference table is recovered, and pdf.js prints nothing', async () => {
  const good = new TextDecoder().decode(pdfBytes([['Hello there.'], ['Two.']]));
  const bytes = new TextEncoder().encode(good.replace(/startxref\n\d+/, 'startxref\n5').replace('/BaseFont /Helvetica', '/BaseFont /NoSuchFont'));
  const printed: unknown[] = [];
  const saved = { log: console.log, warn: console.warn, error: console.error, info: console.info };
  console.log = console.warn = console.error = console.info = (...args: unknown[]) => void printed.push(args);
  try {
    const { text } = await pdfText(bytes, 'recovered.pdf');
    assert.equal(text, 'Hello there.\n\nTwo.');
  } finally {
    Object.assign(console, saved);
  }
  assert.deepEqual(printed, []);
});
