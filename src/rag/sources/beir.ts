/**
 * A BEIR corpus.jsonl: one JSON object per line with `_id`, `title` and `text`. Each line is a document
 * whose text is the title, a blank line and the text, with the title as its heading. A bad line is
 * reported with its number and the rest are read.
 */
import { readLines } from '../../data/finetune/sources.js';
import { sha256, type SourceItem } from './files.js';
import { SourceSkipError, type Heading, type SourceDocument } from './types.js';

/** One corpus line as a document, or the SourceSkipError saying why it is not one. */
export function beirDocument(path: string, line: number, json: string): SourceDocument | SourceSkipError {
  const bad = (why: string): SourceSkipError => new SourceSkipError(path, 'bad-line', why, line);
  let record: unknown;
  try {
    record = JSON.parse(json);
  } catch (err) {
    return bad(`not JSON (${(err as Error).message})`);
  }
  if (typeof record !== 'object' || record === null || Array.isArray(record)) return bad('not a JSON object');
  const { _id, title, text } = record as Record<string, unknown>;
  if (!((typeof _id === 'string' && _id.length > 0) || typeof _id === 'number')) return bad('no "_id" (a non-empty string)');
  if (title !== undefined && title !== null && typeof title !== 'string') return bad(`"title" is a ${typeof title}, not a string`);
  if (text !== undefined && text !== null && typeof text !== 'string') return bad(`"text" is a ${typeof text}, not a string`);
  const heading = (title ?? '').trim();
  const body = text ?? '';
  if (heading.length === 0 && body.trim().length === 0) return new SourceSkipError(path, 'empty', 'the title and text are empty', line);
  const headings: Heading[] = heading ? [{ level: 1, title: heading, start: 0, end: heading.length }] : [];
  return {
    id: String(_id),
    path,
    title: heading || undefined,
    text: heading ? `${heading}\n\n${body}` : body,
    headings,
    hash: sha256(json),
    format: 'beir',
  };
}

/**
 * The corpus's documents, in file order. Bad lines go to `onSkip`; a file that cannot be read ends the
 * corpus with one `unreadable` report.
 */
export async function* beirItems(path: string, onSkip: (e: SourceSkipError) => void): AsyncGenerator<SourceItem> {
  try {
    for await (const l of readLines(path)) {
      if ('invalidUtf8' in l) {
        onSkip(new SourceSkipError(path, 'bad-line', 'not UTF-8', l.line));
        continue;
      }
      if (l.text.trim().length === 0) continue;
      const doc = beirDocument(path, l.line, l.text);
      if (doc instanceof SourceSkipError) onSkip(doc);
      else yield { id: doc.id, path, hash: doc.hash, format: 'beir', load: async () => doc };
    }
  } catch (err) {
    // readLines' message starts with the path, which the report carries on its own.
    const message = (err as Error).message;
    const why = message.startsWith(`${path}: `) ? message.slice(path.length + 2) : message;
    onSkip(new SourceSkipError(path, 'unreadable', why, undefined, { cause: err }));
  }
}
