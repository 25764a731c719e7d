/**
 * HTML to text with html-to-text, headings kept as Markdown-like `## Title` lines. Heading elements are
 * written between private-use marker characters and located afterwards, so a `#` at the start of a
 * paragraph or in a <pre> is never taken for a heading.
 */
import { convert, type FormatCallback, type HtmlToTextOptions, type SelectorDefinition } from 'html-to-text';
import type { Heading } from './types.js';

// U+E001..U+E006 open a heading of that level, U+E000 closes it.
const CLOSE = '\uE000';
const openMark = (level: number): string => String.fromCharCode(0xe000 + level);
const MARKS = /[\uE000-\uE006]/g;
const MARKED = /[\uE001-\uE006]([^\uE000]*)\uE000/g;

const heading =
  (level: number): FormatCallback =>
  (elem, walk, builder) => {
    builder.openBlock({ leadingLineBreaks: 2 });
    builder.addLiteral(openMark(level));
    walk(elem.children, builder);
    builder.addLiteral(CLOSE);
    builder.closeBlock({ trailingLineBreaks: 2 });
  };

const formatters: Record<string, FormatCallback> = {};
const selectors: SelectorDefinition[] = [
  { selector: 'a', options: { ignoreHref: true } },
  { selector: 'img', format: 'skip' },
  { selector: 'table', format: 'dataTable' },
];
for (let level = 1; level <= 6; level++) {
  formatters[`heading${level}`] = heading(level);
  selectors.push({ selector: `h${level}`, format: `heading${level}` });
}
const OPTIONS: HtmlToTextOptions = { wordwrap: false, formatters, selectors };

export interface HtmlText {
  text: string;
  headings: Heading[];
  /** The <title>, if any. */
  title?: string;
}

export function htmlText(html: string): HtmlText {
  const marked = convert(html.replace(MARKS, ''), OPTIONS);
  const headings: Heading[] = [];
  let text = '';
  let from = 0;
  for (const m of marked.matchAll(MARKED)) {
    text += marked.slice(from, m.index).replace(MARKS, '');
    from = m.index + m[0].length;
    const content = m[1]!.replace(MARKS, '');
    const title = content.replace(/\s+/g, ' ').trim();
    if (!title) continue;
    const level = marked.charCodeAt(m.index) - 0xe000;
    const start = text.length;
    text += `${'#'.repeat(level)} ${content.trim()}`;
    headings.push({ level, title, start, end: text.length });
  }
  text += marked.slice(from).replace(MARKS, '');
  const t = /<title[^>]*>([\s\S]*?)<\/title\s*>/i.exec(html);
  const title = t ? convert(t[1]!, { wordwrap: false }).replace(/\s+/g, ' ').trim() : '';
  return { text, headings, title: title || undefined };
}
