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
import { join, resolve } from 'node:path';
import { writeFileAtomic } from './atomic.js';
import { HubError, downloadFile } from './download.js';
import { SAFETENSORS_INDEX, readSafetensorsIndex, shardFiles } from './safetensors.js';

export { HubError, type HubErrorCode } from './download.js';

/** One step of a file download. io draws nothing: apps turn these into progress bars. */
export interface DownloadProgress {
  /** Repo-relative file name (e.g. "model.safetensors"). */
  file: string;
  /** Bytes of the file on disk so far, a resumed part included. */
  downloadedBytes: number;
  /** From Content-Length / Content-Range; undefined when the server did not say. */
  totalBytes: number | undefined;
  /** True once, on the last report for the file: it is complete and in the cache. */
  done: boolean;
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
  /** Called as downloads advance (never for cached files). */
  onProgress?: (p: DownloadProgress) => void;
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

class Downloader {
  private snapshot: Snapshot | undefined;
  private readonly headers: Record<string, string>;

  constructor(
    private readonly id: string,
    private readonly revision: string,
    private readonly repoDir: string,
    private readonly opts: HubOptions,
    known: string | undefined,
  ) {
    this.snapshot = known ? snapshotOf(repoDir, known) : undefined;
    const token = opts.token ?? process.env.HF_TOKEN;
    this.headers = { 'user-agent': 'forja/0.1', 'accept-encoding': 'identity' };
    if (token) this.headers.authorization = `Bearer ${token}`;
  }

  async run(wantWeights: boolean, optional: readonly string[]): Promise<string> {
    if ((await this.fetchFile('config.json')) === 'missing') {
      throw new HubError(
        'NOT_FOUND',
        `Model "${this.id}" not found at ${hubEndpoint(this.opts)} (revision "${this.revision}"): ${hubFileUrl(this.id, 'config.json', this.opts)} returned 404`,
        { url: hubFileUrl(this.id, 'config.json', this.opts), status: 404 },
      );
    }
    for (const f of optional) await this.fetchFile(f);
    if (wantWeights) await this.fetchWeights();
    return this.snap().dir;
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
    const onProgress = this.opts.onProgress;
    let last: DownloadProgress | undefined;
    const result = await downloadFile(url, {
      dest: async (res) => join((await this.ensureSnapshot(res)).dir, file),
      partial: this.snapshot ? join(this.snapshot.dir, file) : undefined,
      headers: this.headers,
      retries: this.opts.retries,
      onProgress: onProgress && ((downloadedBytes, totalBytes) => onProgress((last = { file, downloadedBytes, totalBytes, done: false }))),
    });
    if (result === 'not-found') {
      // Remember optional 404s; a missing config.json is an error, never cached.
      const s = file === 'config.json' ? undefined : this.snapshot ?? (await this.ensureSnapshot(undefined));
      if (s) await writeFileAtomic(noExistPath(s, file), '');
      return 'missing';
    }
    if (onProgress && last) onProgress({ ...last, totalBytes: last.totalBytes ?? last.downloadedBytes, done: true });
    if (this.snapshot && markedMissing(this.snapshot, file)) await fsp.rm(noExistPath(this.snapshot, file), { force: true });
    return 'ok';
  }

  // The snapshot folder is named after the first response's X-Repo-Commit (or the revision).
  private async ensureSnapshot(res: Response | undefined): Promise<Snapshot> {
    if (this.snapshot) return this.snapshot;
    const header = res?.headers.get('x-repo-commit') ?? '';
    const name = COMMIT_RE.test(header) ? header : COMMIT_RE.test(this.revision) ? this.revision : snapshotNameFor(this.revision);
    const snapshot = snapshotOf(this.repoDir, name);
    await fsp.mkdir(snapshot.dir, { recursive: true });
    if (name !== this.revision) await writeFileAtomic(join(this.repoDir, 'refs', this.revision), name);
    this.snapshot = snapshot;
    return snapshot;
  }
}
