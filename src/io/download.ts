/**
 * One resumable, checked HTTP download: bytes go to `<dest>.incomplete`, resumed with a Range request
 * when that file exists, checked against Content-Length, then renamed into place.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import { dirname } from 'node:path';

export type HubErrorCode =
  | 'BAD_ID'
  | 'NOT_FOUND'
  | 'UNAUTHORIZED'
  | 'OFFLINE_MISS'
  | 'NO_WEIGHTS'
  | 'HTTP'
  | 'NETWORK'
  | 'SIZE_MISMATCH';

/** A hub or download failure; `code` says which, `url` and `status` what was asked and answered. */
export class HubError extends Error {
  readonly code: HubErrorCode;
  readonly url?: string;
  readonly status?: number;
  constructor(code: HubErrorCode, message: string, extra: { url?: string; status?: number; cause?: unknown } = {}) {
    super(message, extra.cause === undefined ? undefined : { cause: extra.cause });
    this.name = 'HubError';
    this.code = code;
    if (extra.url !== undefined) this.url = extra.url;
    if (extra.status !== undefined) this.status = extra.status;
  }
}

export interface DownloadFileOptions {
  /** Final path, or a function choosing it from the first successful response (called once). */
  dest: string | ((res: Response) => Promise<string>);
  /**
   * Final path known before the request, for resuming `<path>.incomplete` (defaults to `dest` when it
   * is a string).
   */
  partial?: string | undefined;
  headers?: Record<string, string>;
  /** Called as bytes arrive. */
  onProgress?: (downloadedBytes: number, totalBytes: number | undefined) => void;
  /** Retries after a dropped connection or network error (default 3). */
  retries?: number | undefined;
}

function parseContentRange(h: string | null): { start: number; total: number | undefined } | undefined {
  const m = /^bytes (\d+)-\d+\/(\d+|\*)$/.exec(h?.trim() ?? '');
  if (!m) return undefined;
  return { start: Number(m[1]), total: m[2] === '*' ? undefined : Number(m[2]) };
}

function fileSize(p: string): number {
  try {
    return fs.statSync(p).size;
  } catch {
    return 0;
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Download `url` to a file: bytes go to `<dest>.incomplete`, which is resumed with a Range request if
 * it already exists (206 appends, 200 restarts), checked against Content-Length, then renamed into
 * place. Returns 'not-found' on 404 (nothing written); other HTTP errors throw HubError.
 */
export async function downloadFile(url: string, opts: DownloadFileOptions): Promise<'ok' | 'not-found'> {
  const retries = opts.retries ?? 3;
  let dest = typeof opts.dest === 'string' ? opts.dest : undefined;
  const known = dest ?? opts.partial;
  const chooseDest = async (res: Response): Promise<string> => (typeof opts.dest === 'string' ? opts.dest : opts.dest(res));
  let lastError: unknown;
  for (let attempt = 0; attempt <= retries; attempt++) {
    if (attempt > 0) await sleep(Math.min(250 * 2 ** (attempt - 1), 4000));
    const partialPath = known ? `${known}.incomplete` : undefined;
    let have = partialPath ? fileSize(partialPath) : 0;
    const headers: Record<string, string> = { ...opts.headers };
    if (have > 0) headers.range = `bytes=${have}-`;
    let res: Response;
    try {
      res = await fetch(url, { headers, redirect: 'follow' });
    } catch (err) {
      lastError = new HubError('NETWORK', `GET ${url} failed: ${(err as Error).message}`, { url, cause: err });
      continue;
    }
    if (res.status === 404) {
      await res.body?.cancel();
      return 'not-found';
    }
    if (res.status === 401 || res.status === 403) {
      await res.body?.cancel();
      throw new HubError(
        'UNAUTHORIZED',
        `GET ${url} returned ${res.status}: the repo does not exist, is private, or is gated (set HF_TOKEN if you have access)`,
        { url, status: res.status },
      );
    }
    if (res.status === 416 && have > 0 && partialPath) {
      // Range starts at or past the end: the partial may already be complete.
      await res.body?.cancel();
      const total = /\/(\d+)$/.exec(res.headers.get('content-range') ?? '')?.[1];
      if (total !== undefined && Number(total) === have) {
        dest ??= await chooseDest(res);
        await fsp.rename(partialPath, dest);
        opts.onProgress?.(have, have);
        return 'ok';
      }
      await fsp.rm(partialPath, { force: true });
      attempt--; // not a failure: restart from zero
      continue;
    }
    if (res.status !== 200 && res.status !== 206) {
      await res.body?.cancel();
      const err = new HubError('HTTP', `GET ${url} returned HTTP ${res.status} ${res.statusText}`, { url, status: res.status });
      if (res.status >= 500) {
        lastError = err;
        continue;
      }
      throw err;
    }
    dest ??= await chooseDest(res);
    const part = `${dest}.incomplete`;
    if (part !== partialPath) have = 0;
    const encoded = (res.headers.get('content-encoding') ?? 'identity') !== 'identity';
    // With a content-encoding, Content-Length counts encoded bytes, not what we write.
    const length = encoded ? NaN : Number(res.headers.get('content-length') ?? NaN);
    let total: number | undefined;
    let flags: 'a' | 'w';
    if (res.status === 206) {
      const cr = parseContentRange(res.headers.get('content-range'));
      if (!cr || cr.start !== have) {
        // Not the range we asked for: start over.
        await res.body?.cancel();
        await fsp.rm(part, { force: true });
        attempt--;
        continue;
      }
      total = cr.total ?? (Number.isFinite(length) ? have + length : undefined);
      flags = 'a';
    } else {
      have = 0; // server ignored the Range header
      total = Number.isFinite(length) ? length : undefined;
      flags = 'w';
    }
    await fsp.mkdir(dirname(part), { recursive: true });
    const fh = await fsp.open(part, flags);
    let done = have;
    try {
      opts.onProgress?.(done, total);
      if (res.body) {
        for await (const chunk of res.body) {
          await fh.write(chunk);
          done += chunk.byteLength;
          opts.onProgress?.(done, total);
        }
      }
      await fh.sync();
    } catch (err) {
      lastError = new HubError(
        'NETWORK',
        `download of ${url} was interrupted after ${done} bytes (kept ${part}; rerun to resume): ${(err as Error).message}`,
        { url, cause: err },
      );
      continue;
    } finally {
      await fh.close();
    }
    const size = fileSize(part);
    if (total !== undefined && size !== total) {
      if (size < total) {
        lastError = new HubError('SIZE_MISMATCH', `download of ${url} ended early: ${size} of ${total} bytes (kept ${part}; rerun to resume)`, { url });
        continue;
      }
      await fsp.rm(part, { force: true });
      throw new HubError('SIZE_MISMATCH', `download of ${url} is ${size} bytes but the server announced ${total}; discarded ${part}`, { url });
    }
    await fsp.rename(part, dest);
    return 'ok';
  }
  throw lastError instanceof Error ? lastError : new HubError('NETWORK', `GET ${url} failed after ${retries + 1} attempts`, { url });
}
