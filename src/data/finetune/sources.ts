/**
 * Where fine-tuning data comes from: plain text files (.txt, .md), whose whole text is one document
 * for the causal-LM objective, and JSONL files (.jsonl, .ndjson, or .json holding one object per
 * line), one record per line. Folders are walked recursively in sorted order, so the same folder
 * always gives the same records in the same order.
 *
 * Lines are split on bytes and decoded strictly, so a line that is not UTF-8 is reported with its
 * number instead of silently becoming U+FFFD.
 */
import { createReadStream } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { extname, join, resolve } from 'node:path';
import { FinetuneDataError } from './problems.js';

export type SourceKind = 'text' | 'jsonl';

export interface DataSource {
  /** Absolute path. */
  path: string;
  kind: SourceKind;
}

const KINDS: Record<string, SourceKind> = { '.txt': 'text', '.md': 'text', '.markdown': 'text', '.jsonl': 'jsonl', '.ndjson': 'jsonl' };
const EXTENSIONS = Object.keys(KINDS).join(', ');

function kindOf(path: string, explicit: boolean): SourceKind | undefined {
  const ext = extname(path).toLowerCase();
  // A folder may hold config .json files; a .json named on its own is taken as JSONL.
  if (ext === '.json' && explicit) return 'jsonl';
  return KINDS[ext];
}

async function statOrThrow(path: string): Promise<import('node:fs').Stats> {
  try {
    return await fsp.stat(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file or folder' : (err as Error).message;
    throw new FinetuneDataError('unreadable', `${path}: ${why}`, [path]);
  }
}

async function walk(dir: string, out: string[]): Promise<void> {
  let entries: import('node:fs').Dirent[];
  try {
    entries = await fsp.readdir(dir, { withFileTypes: true });
  } catch (err) {
    throw new FinetuneDataError('unreadable', `${dir}: cannot list the folder (${(err as Error).message})`, [dir]);
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    if (e.name.startsWith('.')) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) await walk(p, out);
    else if (e.isFile() && kindOf(p, false)) out.push(p);
  }
}

/**
 * The data files named by `paths` (files or folders), each once, in the order given (a folder's
 * files sorted by path). A file of another kind, a missing path or a folder without data files is
 * refused.
 */
export async function listSources(paths: string | readonly string[]): Promise<DataSource[]> {
  const list = typeof paths === 'string' ? [paths] : [...paths];
  if (list.length === 0) throw new FinetuneDataError('no-data', 'no data files or folders were given');
  const seen = new Set<string>();
  const out: DataSource[] = [];
  const push = (path: string, kind: SourceKind): void => {
    if (seen.has(path)) return;
    seen.add(path);
    out.push({ path, kind });
  };
  for (const given of list) {
    const path = resolve(given);
    const st = await statOrThrow(path);
    if (st.isDirectory()) {
      const files: string[] = [];
      await walk(path, files);
      if (files.length === 0) throw new FinetuneDataError('no-data', `${path}: the folder holds no data files (${EXTENSIONS})`, [path]);
      for (const f of files) push(f, kindOf(f, false)!);
    } else {
      const kind = kindOf(path, true);
      if (!kind) throw new FinetuneDataError('unreadable', `${path}: not a data file (expected ${EXTENSIONS} or .json with one object per line)`, [path]);
      push(path, kind);
    }
  }
  return out;
}

/** One line of a JSONL file: its text, or the fact that its bytes are not UTF-8. */
export type SourceLine = { line: number; text: string } | { line: number; invalidUtf8: true };

const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function decodeLine(bytes: Uint8Array, line: number): SourceLine {
  let end = bytes.length;
  if (end > 0 && bytes[end - 1] === 0x0d) end--;
  let start = 0;
  if (line === 1 && end >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) start = 3;
  try {
    return { line, text: decoder.decode(bytes.subarray(start, end)) };
  } catch {
    return { line, invalidUtf8: true };
  }
}

/**
 * The lines of `path` with 1-based numbers (LF or CRLF, a UTF-8 BOM dropped), streamed so a large
 * file is never held whole. A read error is a FinetuneDataError naming the file.
 */
export async function* readLines(path: string): AsyncGenerator<SourceLine, void, undefined> {
  let line = 1;
  let pending: Uint8Array[] = [];
  const stream = createReadStream(path);
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      let from = 0;
      for (let nl = chunk.indexOf(0x0a, from); nl >= 0; nl = chunk.indexOf(0x0a, from)) {
        pending.push(chunk.subarray(from, nl));
        yield decodeLine(pending.length === 1 ? pending[0]! : Buffer.concat(pending), line++);
        pending = [];
        from = nl + 1;
      }
      if (from < chunk.length) pending.push(chunk.subarray(from));
    }
  } catch (err) {
    throw new FinetuneDataError('unreadable', `${path}: cannot read (${(err as Error).message})`, [path]);
  } finally {
    stream.destroy();
  }
  if (pending.length > 0) yield decodeLine(Buffer.concat(pending), line);
}

/** A whole text file, or undefined if its bytes are not UTF-8 (a BOM is dropped). */
export async function readTextDocument(path: string): Promise<string | undefined> {
  let bytes: Buffer;
  try {
    bytes = await fsp.readFile(path);
  } catch (err) {
    throw new FinetuneDataError('unreadable', `${path}: cannot read (${(err as Error).message})`, [path]);
  }
  const start = bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  try {
    return decoder.decode(bytes.subarray(start));
  } catch {
    return undefined;
  }
}
