/**
 * Resolve a Hugging Face model id ("gpt2", "org/name") to a local directory, downloading plain static
 * files from `{endpoint}/{id}/resolve/{revision}/{file}` on a cache miss (no /api calls).
 *
 * Cache layout follows huggingface_hub, so caches are shared with Python in both directions:
 *   <cache>/models--org--name/refs/<revision>           -> text: the snapshot folder name
 *   <cache>/models--org--name/snapshots/<commit>/<file>  (real files here; Python uses blob symlinks)
 *   <cache>/models--org--name/.no_exist/<commit>/<file>  (empty marker: the server said 404)
 * <commit> is the server's X-Repo-Commit header when present, else the revision name itself.
 * <cache> is $HF_HUB_CACHE, else $HF_HOME/hub, else $XDG_CACHE_HOME/huggingface/hub, else
 * ~/.cache/huggingface/hub.
 *
 * A cached snapshot is reused without any request once every probed file is either present or
 * marked missing; pass `forceDownload` to refetch (a moving branch like `main` is not re-checked).
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import cliProgress from 'cli-progress';
import { writeFileAtomic, writeFileAtomicSync } from './atomic.js';
import { SAFETENSORS_INDEX, readSafetensorsIndex, shardFiles } from './safetensors.js';

export type HubErrorCode =
  | 'BAD_ID'
  | 'NOT_FOUND'
  | 'UNAUTHORIZED'
  | 'OFFLINE_MISS'
  | 'NO_WEIGHTS'
  | 'HTTP'
  | 'NETWORK'
  | 'SIZE_MISMATCH';

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

export interface DownloadProgress {
  /** Repo-relative file name (e.g. "model.safetensors"). */
  file: string;
  bytesDone: number;
  /** From Content-Length / Content-Range; undefined when the server did not say. */
  bytesTotal: number | undefined;
}

export interface HubOptions {
  /** Branch, tag or commit (default "main"). */
  revision?: string;
  /** Cache root (default: see module doc). */
  cacheDir?: string;
  /** Server root (default $HF_ENDPOINT or https://huggingface.co). */
  endpoint?: string;
  /** Never touch the network (default: $HF_HUB_OFFLINE is 1/true/yes/on). */
  offline?: boolean;
  /** Bearer token for gated/private repos (default $HF_TOKEN). */
  token?: string;
  /** Progress callback; when given, no progress bar is drawn. */
  onProgress?: (p: DownloadProgress) => void;
  /** Draw a progress bar on stderr (default: only when stderr is a TTY and no onProgress). */
  progressBar?: boolean;
  /** Fetch the weights too (default true). False fetches only config/tokenizer files. */
  weights?: boolean;
  /** More optional files to probe (404 is fine). */
  extraFiles?: string[];
  /** Refetch every file even if cached. */
  forceDownload?: boolean;
  /** Retries after a dropped connection; each resumes from what was already received (default 3). */
  retries?: number;
}

/** Always required. */
export const HUB_REQUIRED_FILES = ['config.json'] as const;
/** Probed in this order; a 404 is fine. chat_template.jinja is where newer transformers keep the template. */
export const HUB_OPTIONAL_FILES = [
  'generation_config.json',
  'tokenizer.json',
  'tokenizer_config.json',
  'vocab.json',
  'merges.txt',
  'special_tokens_map.json',
  'chat_template.jinja',
] as const;
export const HUB_WEIGHTS_FILE = 'model.safetensors';

const TRUTHY = new Set(['1', 'true', 'yes', 'on']);

export function isOfflineEnv(): boolean {
  return TRUTHY.has((process.env.HF_HUB_OFFLINE ?? '').trim().toLowerCase());
}

function expandHome(p: string): string {
  return p === '~' || p.startsWith('~/') ? join(homedir(), p.slice(1)) : p;
}

/** The hub cache root, from options or the huggingface_hub environment variables. */
export function hubCacheDir(opts: Pick<HubOptions, 'cacheDir'> = {}): string {
  if (opts.cacheDir) return resolve(expandHome(opts.cacheDir));
  if (process.env.HF_HUB_CACHE) return resolve(expandHome(process.env.HF_HUB_CACHE));
  if (process.env.HF_HOME) return resolve(expandHome(process.env.HF_HOME), 'hub');
  const xdg = process.env.XDG_CACHE_HOME ? expandHome(process.env.XDG_CACHE_HOME) : join(homedir(), '.cache');
  return resolve(xdg, 'huggingface', 'hub');
}

export function hubEndpoint(opts: Pick<HubOptions, 'endpoint'> = {}): string {
  return (opts.endpoint ?? process.env.HF_ENDPOINT ?? 'https://huggingface.co').replace(/\/+$/, '');
}

const ID_RE = /^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)?$/;

/** True for a syntactically valid hub model id ("name" or "org/name"). */
export function isRepoId(s: string): boolean {
  return ID_RE.test(s) && !s.includes('..') && !s.includes('--') && !s.split('/').some((p) => p === '.' || p.startsWith('-'));
}

/** huggingface_hub's folder for a model repo: models--org--name. */
export function repoCacheDir(id: string, opts: Pick<HubOptions, 'cacheDir'> = {}): string {
  return join(hubCacheDir(opts), `models--${id.replace('/', '--')}`);
}

/** URL of one file of a repo at a revision. */
export function hubFileUrl(id: string, file: string, opts: Pick<HubOptions, 'endpoint' | 'revision'> = {}): string {
  const rev = encodeURIComponent(opts.revision ?? 'main');
  const path = file.split('/').map(encodeURIComponent).join('/');
  return `${hubEndpoint(opts)}/${id}/resolve/${rev}/${path}`;
}

const exists = (p: string): boolean => fs.existsSync(p);
const COMMIT_RE = /^[0-9a-f]{40}$/;

// Folder name used when the server gives no commit: the revision, made path-safe.
function snapshotNameFor(revision: string): string {
  return revision.replace(/\//g, '--');
}

function readRef(repoDir: string, revision: string): string | undefined {
  if (COMMIT_RE.test(revision) && exists(join(repoDir, 'snapshots', revision))) return revision;
  try {
    const name = fs.readFileSync(join(repoDir, 'refs', revision), 'utf8').trim();
    if (name && !name.includes('/') && !name.includes('..')) return name;
  } catch {
    /* no ref recorded */
  }
  const direct = snapshotNameFor(revision);
  return exists(join(repoDir, 'snapshots', direct)) ? direct : undefined;
}

interface Snapshot {
  repoDir: string;
  name: string;
  dir: string;
}

function snapshotOf(repoDir: string, name: string): Snapshot {
  return { repoDir, name, dir: join(repoDir, 'snapshots', name) };
}

const noExistPath = (s: Snapshot, file: string): string => join(s.repoDir, '.no_exist', s.name, file);
const hasFile = (s: Snapshot, file: string): boolean => exists(join(s.dir, file));
const markedMissing = (s: Snapshot, file: string): boolean => exists(noExistPath(s, file));

// Weights present: a single file, or an index whose shards are all there.
function weightsPresent(s: Snapshot): boolean {
  if (hasFile(s, HUB_WEIGHTS_FILE)) return true;
  if (!hasFile(s, SAFETENSORS_INDEX)) return false;
  try {
    const index = JSON.parse(fs.readFileSync(join(s.dir, SAFETENSORS_INDEX), 'utf8')) as { weight_map?: Record<string, string> };
    return Object.values(index.weight_map ?? {}).every((f) => typeof f === 'string' && hasFile(s, f));
  } catch {
    return false;
  }
}

/** Why a snapshot is not usable, or undefined when it is. `strict` also requires every optional file to be accounted for. */
function missingFromSnapshot(s: Snapshot, wantWeights: boolean, optional: readonly string[], strict: boolean): string | undefined {
  if (!hasFile(s, 'config.json')) return 'config.json';
  if (strict) {
    const unprobed = optional.find((f) => !hasFile(s, f) && !markedMissing(s, f));
    if (unprobed) return unprobed;
  }
  if (wantWeights && !weightsPresent(s)) return `${HUB_WEIGHTS_FILE} (or ${SAFETENSORS_INDEX} and its shards)`;
  return undefined;
}

/**
 * Resolve a model id or local directory to a directory holding its files. A path to an existing
 * directory is returned as-is (absolute); an id is looked up in the cache and downloaded on a miss.
 */
export async function resolveModelDir(idOrDir: string, opts: HubOptions = {}): Promise<string> {
  let st: fs.Stats | undefined;
  try {
    st = fs.statSync(idOrDir);
  } catch {
    st = undefined;
  }
  if (st?.isDirectory()) return resolve(idOrDir);
  if (st) throw new HubError('BAD_ID', `${idOrDir} is a file, not a model directory or hub id`);
  if (!isRepoId(idOrDir)) {
    throw new HubError('BAD_ID', `"${idOrDir}" is neither an existing directory nor a valid hub model id ("name" or "org/name")`);
  }
  const id = idOrDir;
  const revision = opts.revision ?? 'main';
  const repoDir = repoCacheDir(id, opts);
  const wantWeights = opts.weights !== false;
  const optional = [...HUB_OPTIONAL_FILES, ...(opts.extraFiles ?? [])];
  const offline = opts.offline ?? isOfflineEnv();
  const known = readRef(repoDir, revision);

  if (offline) {
    const lookedIn = known ? join(repoDir, 'snapshots', known) : join(repoDir, 'snapshots', snapshotNameFor(revision));
    const missing = known ? missingFromSnapshot(snapshotOf(repoDir, known), wantWeights, optional, false) : 'everything';
    if (missing === undefined) return lookedIn;
    throw new HubError(
      'OFFLINE_MISS',
      `Model "${id}" (revision "${revision}") is not cached and ${opts.offline === undefined ? 'HF_HUB_OFFLINE is set' : 'offline mode was requested'}, so it was not downloaded. ` +
        `Looked in ${lookedIn} (missing: ${missing}).`,
    );
  }
  if (known && !opts.forceDownload && missingFromSnapshot(snapshotOf(repoDir, known), wantWeights, optional, true) === undefined) {
    return join(repoDir, 'snapshots', known);
  }
  return new Downloader(id, revision, repoDir, opts, known).run(wantWeights, optional);
}

// ---------------------------------------------------------------------------------------------

interface Bar {
  start(total: number, value: number, payload: object): void;
  update(value: number, payload?: object): void;
  stop(): void;
}

function defaultReporter(opts: HubOptions): ((p: DownloadProgress) => void) & { done?: () => void } {
  if (opts.onProgress) return opts.onProgress;
  if (!(opts.progressBar ?? process.stderr.isTTY === true)) return () => undefined;
  let bar: Bar | undefined;
  let barFile = '';
  const mb = (n: number): string => (n < 1e6 ? `${(n / 1e3).toFixed(1)} kB` : `${(n / 1e6).toFixed(1)} MB`);
  const report = (p: DownloadProgress): void => {
    if (p.file !== barFile) {
      bar?.stop();
      barFile = p.file;
      bar = new cliProgress.SingleBar(
        {
          format: '{file} [{bar}] {percentage}% {done} / {size}',
          hideCursor: true,
          stream: process.stderr,
          // Draw even off a TTY when the caller asked for a bar explicitly.
          noTTYOutput: opts.progressBar === true,
        },
        cliProgress.Presets.shades_classic,
      );
      bar.start(p.bytesTotal ?? 0, p.bytesDone, { file: p.file, done: mb(p.bytesDone), size: p.bytesTotal ? mb(p.bytesTotal) : '?' });
    }
    bar?.update(p.bytesDone, { done: mb(p.bytesDone) });
  };
  return Object.assign(report, {
    done: () => {
      bar?.stop();
      bar = undefined;
      barFile = '';
    },
  });
}

class Downloader {
  private snapshot: Snapshot | undefined;
  private readonly report: ((p: DownloadProgress) => void) & { done?: () => void };
  private readonly headers: Record<string, string>;

  constructor(
    private readonly id: string,
    private readonly revision: string,
    private readonly repoDir: string,
    private readonly opts: HubOptions,
    known: string | undefined,
  ) {
    this.snapshot = known ? snapshotOf(repoDir, known) : undefined;
    this.report = defaultReporter(opts);
    const token = opts.token ?? process.env.HF_TOKEN;
    this.headers = { 'user-agent': 'forja/0.1', 'accept-encoding': 'identity' };
    if (token) this.headers.authorization = `Bearer ${token}`;
  }

  async run(wantWeights: boolean, optional: readonly string[]): Promise<string> {
    try {
      const got = await this.fetchFile('config.json');
      if (got === 'missing') {
        throw new HubError(
          'NOT_FOUND',
          `Model "${this.id}" not found at ${hubEndpoint(this.opts)} (revision "${this.revision}"): ${hubFileUrl(this.id, 'config.json', this.opts)} returned 404`,
          { url: hubFileUrl(this.id, 'config.json', this.opts), status: 404 },
        );
      }
      for (const f of optional) await this.fetchFile(f);
      if (wantWeights) await this.fetchWeights();
      return this.snap().dir;
    } finally {
      this.report.done?.();
    }
  }

  private snap(): Snapshot {
    if (!this.snapshot) throw new Error('hub: internal error, snapshot not known yet');
    return this.snapshot;
  }

  private async fetchWeights(): Promise<void> {
    if ((await this.fetchFile(HUB_WEIGHTS_FILE)) === 'ok') return;
    if ((await this.fetchFile(SAFETENSORS_INDEX)) === 'ok') {
      const s = this.snap();
      const index = await readSafetensorsIndex(join(s.dir, SAFETENSORS_INDEX));
      for (const shard of shardFiles(index)) {
        if ((await this.fetchFile(shard)) === 'missing') {
          throw new HubError(
            'NOT_FOUND',
            `Model "${this.id}": ${SAFETENSORS_INDEX} lists shard "${shard}" but ${hubFileUrl(this.id, shard, this.opts)} returned 404`,
            { url: hubFileUrl(this.id, shard, this.opts), status: 404 },
          );
        }
      }
      return;
    }
    throw new HubError(
      'NO_WEIGHTS',
      `Model "${this.id}" (revision "${this.revision}") has neither ${HUB_WEIGHTS_FILE} nor ${SAFETENSORS_INDEX} ` +
        `at ${hubEndpoint(this.opts)}/${this.id}/resolve/${this.revision}/ (Forja reads safetensors weights only)`,
    );
  }

  /** Fetch one file into the snapshot unless already there. 'missing' = the server said 404. */
  private async fetchFile(file: string): Promise<'ok' | 'missing'> {
    const force = this.opts.forceDownload === true;
    if (this.snapshot && !force) {
      if (hasFile(this.snapshot, file)) return 'ok';
      if (markedMissing(this.snapshot, file)) return 'missing';
    }
    const url = hubFileUrl(this.id, file, this.opts);
    const result = await downloadFile(url, {
      dest: (res) => join(this.ensureSnapshot(res).dir, file),
      partial: this.snapshot ? join(this.snapshot.dir, file) : undefined,
      headers: this.headers,
      retries: this.opts.retries,
      onProgress: (done, total) => this.report({ file, bytesDone: done, bytesTotal: total }),
    });
    if (result === 'not-found') {
      // Remember optional 404s; a missing config.json is an error, never cached.
      const s = file === 'config.json' ? undefined : this.snapshot ?? this.ensureSnapshot(undefined);
      if (s) await writeFileAtomic(noExistPath(s, file), '');
      return 'missing';
    }
    if (this.snapshot && markedMissing(this.snapshot, file)) await fsp.rm(noExistPath(this.snapshot, file), { force: true });
    return 'ok';
  }

  // The snapshot folder is named after the first response's X-Repo-Commit (or the revision).
  private ensureSnapshot(res: Response | undefined): Snapshot {
    if (this.snapshot) return this.snapshot;
    const header = res?.headers.get('x-repo-commit') ?? '';
    const name = COMMIT_RE.test(header) ? header : COMMIT_RE.test(this.revision) ? this.revision : snapshotNameFor(this.revision);
    this.snapshot = snapshotOf(this.repoDir, name);
    fs.mkdirSync(this.snapshot.dir, { recursive: true });
    if (name !== this.revision) {
      const ref = join(this.repoDir, 'refs', this.revision);
      writeFileAtomicSync(ref, name);
    }
    return this.snapshot;
  }
}

// ---------------------------------------------------------------------------------------------

export interface DownloadFileOptions {
  /** Final path, or a function choosing it from the first successful response (called once). */
  dest: string | ((res: Response) => string);
  /**
   * Final path known before the request, for resuming `<path>.incomplete` (defaults to `dest` when it
   * is a string).
   */
  partial?: string | undefined;
  headers?: Record<string, string>;
  /** Called as bytes arrive. */
  onProgress?: (bytesDone: number, bytesTotal: number | undefined) => void;
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
  const chooseDest = (res: Response): string => (typeof opts.dest === 'string' ? opts.dest : opts.dest(res));
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
        dest ??= chooseDest(res);
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
    dest ??= chooseDest(res);
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
