/**
 * Crash-safe file writes: data goes to a temp file in the same directory, is fsynced, then renamed
 * over the target. A reader therefore sees either the old file or the complete new one, never a
 * torn checkpoint. Every checkpoint/index write in Forja goes through here.
 */
import { randomBytes } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** What can be written: text (UTF-8), raw bytes/typed array, or a list of chunks written in order. */
export type AtomicData = string | ArrayBufferView | readonly ArrayBufferView[];

export interface AtomicWriteOptions {
  /** File mode for a newly created file (default 0o666 minus umask). */
  mode?: number;
  /** Create missing parent directories (default true). */
  mkdir?: boolean;
}

// Same directory as the target so rename() stays on one filesystem (and is atomic).
function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
}

function chunksOf(data: AtomicData): Uint8Array[] {
  if (typeof data === 'string') return [Buffer.from(data, 'utf8')];
  const list = (Array.isArray(data) ? data : [data]) as readonly ArrayBufferView[];
  return list.map((v) => new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
}

// Largest single write; some platforms reject writes over 2 GiB.
const MAX_WRITE = 1 << 30;

/** Atomically replace `path` with `data` (temp file in the same dir, fsync, rename, fsync dir). */
export async function writeFileAtomic(path: string, data: AtomicData, opts: AtomicWriteOptions = {}): Promise<void> {
  const dir = dirname(path);
  if (opts.mkdir !== false) await fsp.mkdir(dir, { recursive: true });
  const tmp = tempPathFor(path);
  let handle: fsp.FileHandle | undefined;
  try {
    handle = await fsp.open(tmp, 'wx', opts.mode);
    for (const chunk of chunksOf(data)) {
      for (let off = 0; off < chunk.byteLength; ) {
        const len = Math.min(MAX_WRITE, chunk.byteLength - off);
        const { bytesWritten } = await handle.write(chunk, off, len);
        off += bytesWritten;
      }
    }
    await handle.sync();
    await handle.close();
    handle = undefined;
    await fsp.rename(tmp, path);
  } catch (err) {
    if (handle) await handle.close().catch(() => undefined);
    await fsp.rm(tmp, { force: true }).catch(() => undefined);
    throw new Error(`writeFileAtomic: could not write ${path}: ${(err as Error).message}`, { cause: err });
  }
  await syncDir(dir);
}

/** Atomically write `value` as pretty JSON (2-space indent, trailing newline). */
export async function writeJsonAtomic(path: string, value: unknown, opts: AtomicWriteOptions & { indent?: number } = {}): Promise<void> {
  await writeFileAtomic(path, toJson(path, value, opts.indent), opts);
}

function toJson(path: string, value: unknown, indent = 2): string {
  const text = JSON.stringify(value, null, indent);
  if (text === undefined) throw new Error(`writeJsonAtomic: value for ${path} is not JSON-serialisable`);
  return text + '\n';
}

// fsync the directory so the rename itself survives a power loss. Not supported on Windows; ignore there.
async function syncDir(dir: string): Promise<void> {
  let h: fsp.FileHandle | undefined;
  try {
    h = await fsp.open(dir, 'r');
    await h.sync();
  } catch {
    /* best effort */
  } finally {
    await h?.close().catch(() => undefined);
  }
}
