/**
 * What a list of paths to ingest holds: its files in a fixed order (each named path first, a folder's
 * files sorted by path), each with the id its documents get and its format, and the scopes that a
 * sync may delete from. Hidden files and folders (a name starting with `.`) are left out of a walk; a
 * folder that cannot be listed is reported and skipped.
 */
import { createReadStream } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { basename, extname, join, relative, resolve, sep } from 'node:path';
import { SourceUnreadableError } from '../errors.js';
import type { SkippedSource, SourceFormat } from './types.js';

export interface SourceFile {
  /** Absolute path. */
  path: string;
  /** Document id: the path relative to the named folder, `/`-separated (a named file: its name). */
  id: string;
  /** Undefined for a file of a format ingestion does not read (reported as binary or unsupported). */
  format?: SourceFormat;
  /** Non-blank lines of a BEIR corpus (its documents, for progress); 1 for any other file. */
  documents: number;
}

/**
 * A stored document belongs to a scope when its path is under `folder` or is `corpus`; a sync deletes
 * the scope's documents that the run did not see.
 */
export type SyncScope = { folder: string } | { corpus: string };

export interface SourcePlan {
  files: SourceFile[];
  scopes: SyncScope[];
  /** Documents expected, for progress: one per file, a BEIR corpus its lines. */
  total: number;
}

const FORMATS: Record<string, SourceFormat> = {
  '.txt': 'text',
  '.text': 'text',
  '.md': 'markdown',
  '.markdown': 'markdown',
  '.html': 'html',
  '.htm': 'html',
  '.xhtml': 'html',
  '.pdf': 'pdf',
  // Images carry no text: ingest embeds them with a model that embeds images (CLIP).
  '.png': 'image',
  '.jpg': 'image',
  '.jpeg': 'image',
};

/** The format of a file by name; a `.jsonl` is a BEIR corpus when named `corpus.jsonl` or named on its own. */
export function formatOf(path: string, named: boolean): SourceFormat | undefined {
  const ext = extname(path).toLowerCase();
  if (ext === '.jsonl') return named || basename(path).toLowerCase() === 'corpus.jsonl' ? 'beir' : undefined;
  return FORMATS[ext];
}

/** Lines holding something other than whitespace, counted over the bytes. */
export async function countNonBlankLines(path: string): Promise<number> {
  let n = 0;
  let blank = true;
  for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) {
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i]!;
      if (b === 0x0a) {
        if (!blank) n++;
        blank = true;
      } else if (b !== 0x20 && b !== 0x09 && b !== 0x0d) blank = false;
    }
  }
  return blank ? n : n + 1;
}

const posix = (p: string): string => (sep === '/' ? p : p.split(sep).join('/'));
const errorText = (err: unknown): string => (err as NodeJS.ErrnoException).code ?? (err as Error).message;

async function walk(dir: string, out: string[], seenDirs: Set<string>, onSkip: (s: SkippedSource) => void): Promise<void> {
  let entries: import('node:fs').Dirent[];
  try {
    const real = await fsp.realpath(dir);
    // A symbolic link back up the tree would loop forever.
    if (seenDirs.has(real)) return;
    seenDirs.add(real);
    entries = await fsp.readdir(dir, { withFileTypes: true });
  } catch (err) {
    onSkip({ path: dir, reason: 'unreadable', message: `cannot list the folder (${errorText(err)})` });
    return;
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    if (e.name.startsWith('.')) continue;
    const p = join(dir, e.name);
    let isDir = e.isDirectory();
    let isFile = e.isFile();
    if (e.isSymbolicLink()) {
      try {
        const st = await fsp.stat(p);
        isDir = st.isDirectory();
        isFile = st.isFile();
      } catch (err) {
        onSkip({ path: p, reason: 'unreadable', message: `a broken symbolic link (${errorText(err)})` });
        continue;
      }
    }
    if (isDir) await walk(p, out, seenDirs, onSkip);
    else if (isFile) out.push(p);
  }
}

/**
 * The files of `paths` (files or folders), each once. A path that does not exist throws a
 * SourceUnreadableError before anything is read; problems inside a folder go to `onSkip`.
 */
export async function planSources(paths: readonly string[], onSkip: (s: SkippedSource) => void = () => {}): Promise<SourcePlan> {
  const files: SourceFile[] = [];
  const scopes: SyncScope[] = [];
  const seen = new Set<string>();
  const add = async (path: string, id: string, named: boolean): Promise<void> => {
    if (seen.has(path)) return;
    seen.add(path);
    const format = formatOf(path, named);
    let documents = 1;
    if (format === 'beir') {
      scopes.push({ corpus: path });
      try {
        documents = await countNonBlankLines(path);
      } catch {
        // Reading it again reports the problem.
      }
    }
    files.push({ path, id, format, documents });
  };
  for (const given of paths) {
    const path = resolve(given);
    let st;
    try {
      st = await fsp.stat(path);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new SourceUnreadableError(path, code === 'ENOENT' ? 'no such file or folder' : `cannot read (${errorText(err)})`, { cause: err });
    }
    if (st.isDirectory()) {
      scopes.push({ folder: path });
      const found: string[] = [];
      await walk(path, found, new Set(), onSkip);
      for (const f of found) await add(f, posix(relative(path, f)), false);
    } else {
      await add(path, basename(path), true);
    }
  }
  return { files, scopes, total: files.reduce((n, f) => n + f.documents, 0) };
}

/** Whether a stored document at `path` lies in `scope`. */
export function inScope(scope: SyncScope, path: string): boolean {
  if ('corpus' in scope) return path === scope.corpus;
  return path.startsWith(scope.folder.endsWith(sep) ? scope.folder : scope.folder + sep);
}
