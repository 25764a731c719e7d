/**
 * Minimal PDFs written by hand for tests: one Helvetica text object per page, a correct cross-reference
 * table, and optionally an information dictionary or a Standard security handler that needs a password.
 */

export interface PdfPage {
  /** Lines, 14 points apart. */
  lines: string[];
  /** Blank lines' worth of space before each line, by index (a paragraph gap). */
  gapsBefore?: number[];
  /** One text object moving down with T* (pdf.js then flags line ends), instead of one per line. */
  singleObject?: boolean;
}

const escape = (s: string): string => s.replace(/[\\()]/g, (c) => `\\${c}`);

export function pdfBytes(pages: (string[] | PdfPage)[], options: { title?: string; encrypted?: boolean } = {}): Uint8Array {
  const objects: string[] = ['<< /Type /Catalog /Pages 2 0 R >>', '', '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>'];
  const kids: string[] = [];
  for (const p of pages) {
    const page: PdfPage = Array.isArray(p) ? { lines: p } : p;
    let y = 720;
    const ops = page.lines.map((line, i) => {
      y -= 14 * (page.gapsBefore?.includes(i) ? 2 : 1);
      return `BT /F1 12 Tf 72 ${y} Td (${escape(line)}) Tj ET`;
    });
    const content = page.singleObject ? `BT /F1 12 Tf 14 TL 72 720 Td ${page.lines.map((l) => `(${escape(l)}) Tj T*`).join(' ')} ET` : ops.join('\n');
    const pageId = objects.length + 1;
    kids.push(`${pageId} 0 R`);
    objects.push(`<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> /Contents ${pageId + 1} 0 R >>`);
    objects.push(`<< /Length ${content.length} >>\nstream\n${content}\nendstream`);
  }
  objects[1] = `<< /Type /Pages /Kids [${kids.join(' ')}] /Count ${kids.length} >>`;
  let trailer = `/Size ${objects.length + 1} /Root 1 0 R`;
  if (options.title !== undefined) {
    objects.push(`<< /Title (${escape(options.title)}) >>`);
    trailer += ` /Info ${objects.length} 0 R`;
  }
  if (options.encrypted) {
    // RC4 40-bit with owner and user keys that match no password, not even the empty one.
    objects.push(`<< /Filter /Standard /V 1 /R 2 /O <${'ab'.repeat(32)}> /U <${'cd'.repeat(32)}> /P -4 >>`);
    trailer += ` /Encrypt ${objects.length} 0 R /ID [<${'01'.repeat(16)}> <${'01'.repeat(16)}>]`;
  }
  let out = '%PDF-1.4\n';
  const offsets: number[] = [];
  objects.forEach((o, i) => {
    offsets.push(out.length);
    out += `${i + 1} 0 obj\n${o}\nendobj\n`;
  });
  const xref = out.length;
  out += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  for (const o of offsets) out += `${String(o).padStart(10, '0')} 00000 n \n`;
  out += `trailer\n<< ${trailer} >>\nstartxref\n${xref}\n%%EOF\n`;
  return new TextEncoder().encode(out);
}
