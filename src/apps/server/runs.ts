/**
 * The studio's runs API over `forja serve --runs DIR`: every training run directly under DIR (a directory holding
 * the loss.csv or run.json that `forja train` writes; DIR itself when it is one), its history, final metrics and PNG grids, and its new log
 * rows live as server-sent events while training rewrites loss.csv.
 *
 * No string from a request is joined into a path: a run id and an image name are looked up in the server's own
 * listing of DIR (readdir names, compared as whole strings), and only regular files and directories that are not
 * symlinks are listed, so `..`, encoded slashes, absolute paths and links out of DIR all miss and get a 404.
 */
import type { Dirent } from 'node:fs';
import { lstat, readdir, readFile, realpath } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { RouteModule } from './app.js';
import { ApiError } from './errors.js';

/** One logged row: the first CSV column (epoch) and every loss or metric; a blank cell is left out. */
export type LogRow = Record<string, number>;

export interface RunSummary {
  id: string;
  /** What trained it: run.json's model, else config.json's model_type. */
  model: string | null;
  /** Last change of any of its log files (ms since the epoch). */
  updated: number;
  /** Rows in loss.csv. */
  rows: number;
  /** The last row: the run's latest (or final) metrics. */
  last: LogRow | null;
  /** Whether run.json holds a result (an MNIST run that finished). */
  finished: boolean;
}

export interface RunDetail extends RunSummary {
  /** loss.csv's columns, the x axis first. */
  columns: string[];
  history: LogRow[];
  settings: Record<string, unknown> | null;
  result: Record<string, unknown> | null;
  /** config.json of a GPT run (architecture, sizes) or an MNIST model. */
  config: Record<string, unknown> | null;
  /** PNG files of the run (sample grids, reconstructions), served by /api/runs/:id/images/:name. */
  images: string[];
}

const LOG_FILES = ['loss.csv', 'run.json'] as const;
const IMAGE = /\.png$/i;
/** How often an events stream looks at the run's files. */
export const POLL_MS = 500;
/** Well under the server's 60 s idle socket timeout. */
export const HEARTBEAT_MS = 15_000;

/** Reads a run directory found in the listing; `dir` comes from readdir, never from a request. */
async function regularFile(path: string): Promise<{ text: string; mtime: number } | undefined> {
  const stat = await lstat(path).catch(() => undefined);
  if (!stat?.isFile()) return undefined;
  const text = await readFile(path, 'utf8').catch(() => undefined);
  return text === undefined ? undefined : { text, mtime: stat.mtimeMs };
}

async function jsonObject(path: string): Promise<{ value: Record<string, unknown>; mtime: number } | undefined> {
  const file = await regularFile(path);
  if (!file) return undefined;
  try {
    const value: unknown = JSON.parse(file.text);
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? { value: value as Record<string, unknown>, mtime: file.mtime } : undefined;
  } catch {
    return undefined; // a half-written file from another writer: read it on the next look
  }
}

/** loss.csv as columns and rows; cells that are not numbers are left out of their row. */
export function parseLossCsv(text: string): { columns: string[]; rows: LogRow[] } {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  if (lines.length === 0) return { columns: [], rows: [] };
  const columns = lines[0]!.split(',').map((c) => c.trim());
  const rows = lines.slice(1).map((line) => {
    const cells = line.split(',');
    const row: LogRow = {};
    columns.forEach((name, i) => {
      const cell = cells[i]?.trim() ?? '';
      const value = cell === '' ? Number.NaN : Number(cell);
      if (Number.isFinite(value)) row[name] = value;
    });
    return row;
  });
  return { columns, rows };
}

interface RunFiles {
  csv?: { text: string; mtime: number };
  run?: { value: Record<string, unknown>; mtime: number };
  config?: { value: Record<string, unknown>; mtime: number };
  images: string[];
}

async function holdsLogs(dir: string): Promise<boolean> {
  const logs = await Promise.all(LOG_FILES.map((f) => lstat(join(dir, f)).then((st) => st.isFile(), () => false)));
  return logs.some(Boolean);
}

const objectOrNull = (v: unknown): Record<string, unknown> | null => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null);

/** The runs under one directory, listed afresh on every request (runs appear while the server runs). */
export class RunsDirectory {
  private constructor(readonly root: string) {}

  /** `dir` must exist and be a directory. */
  static async open(dir: string): Promise<RunsDirectory> {
    const root = await realpath(dir);
    if (!(await lstat(root)).isDirectory()) throw new Error(`${dir} is not a directory`);
    return new RunsDirectory(root);
  }

  /** Subdirectories (not symlinks) holding a log file, by name. */
  async runDirs(): Promise<Map<string, string>> {
    const entries = await readdir(this.root, { withFileTypes: true }).catch(() => [] as Dirent[]);
    const found = new Map<string, string>();
    for (const entry of entries) {
      if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
      const dir = join(this.root, entry.name);
      if (await holdsLogs(dir)) found.set(entry.name, dir);
    }
    // `--runs runs/autoencoder`, one run's own directory: listed under its name.
    if (!found.has(basename(this.root)) && (await holdsLogs(this.root))) found.set(basename(this.root), this.root);
    return found;
  }

  /** The run's directory if `id` is exactly one of the listed names; otherwise the 404. */
  async dirOf(id: string): Promise<string> {
    const dir = (await this.runDirs()).get(id);
    if (dir === undefined) throw new ApiError(404, `No run named ${JSON.stringify(id)} under the server's --runs directory`, { param: 'id', code: 'run_not_found' });
    return dir;
  }

  async files(dir: string): Promise<RunFiles> {
    const [csv, run, config, entries] = await Promise.all([
      regularFile(join(dir, 'loss.csv')),
      jsonObject(join(dir, 'run.json')),
      jsonObject(join(dir, 'config.json')),
      readdir(dir, { withFileTypes: true }).catch(() => [] as Dirent[]),
    ]);
    const images = entries.filter((e) => e.isFile() && IMAGE.test(e.name)).map((e) => e.name).sort();
    return { ...(csv && { csv }), ...(run && { run }), ...(config && { config }), images };
  }

  async summary(id: string, dir: string): Promise<RunSummary> {
    const { model, updated, rows, last, finished } = detailOf(id, await this.files(dir));
    return { id, model, updated, rows, last, finished };
  }

  async detail(id: string): Promise<RunDetail> {
    return detailOf(id, await this.files(await this.dirOf(id)));
  }

  async list(): Promise<RunSummary[]> {
    const dirs = await this.runDirs();
    const runs = await Promise.all([...dirs].map(([id, dir]) => this.summary(id, dir)));
    return runs.sort((a, b) => b.updated - a.updated || a.id.localeCompare(b.id));
  }

  /** The bytes of image `name` of run `id`, if both are in the listings. */
  async image(id: string, name: string): Promise<Buffer> {
    const dir = await this.dirOf(id);
    const { images } = await this.files(dir);
    const listed = images.find((n) => n === name);
    if (listed === undefined) throw new ApiError(404, `Run ${JSON.stringify(id)} has no image named ${JSON.stringify(name)}`, { param: 'name', code: 'image_not_found' });
    const path = join(dir, listed);
    if (!(await lstat(path)).isFile()) throw new ApiError(404, `Run ${JSON.stringify(id)} has no image named ${JSON.stringify(name)}`, { param: 'name', code: 'image_not_found' });
    return readFile(path);
  }
}

function detailOf(id: string, files: RunFiles): RunDetail {
  const { columns, rows } = files.csv ? parseLossCsv(files.csv.text) : { columns: [], rows: [] };
  const run = files.run?.value;
  // An MNIST run's history is in run.json too; loss.csv wins when both exist (it is what the trainer appends to).
  const runHistory = Array.isArray(run?.history) ? (run.history as unknown[]).map(objectOrNull).filter((r): r is Record<string, unknown> => r !== null) : [];
  const history = rows.length > 0 || runHistory.length === 0 ? rows : runHistory.map(numericRow);
  const historyColumns = columns.length > 0 ? columns : [...new Set(history.flatMap((r) => Object.keys(r)))];
  const config = files.config?.value ?? null;
  const model = typeof run?.model === 'string' ? run.model : typeof config?.model_type === 'string' ? config.model_type : null;
  const result = objectOrNull(run?.result);
  return {
    id,
    model,
    updated: Math.max(files.csv?.mtime ?? 0, files.run?.mtime ?? 0),
    rows: history.length,
    last: history.at(-1) ?? null,
    finished: result !== null,
    columns: historyColumns,
    history,
    settings: objectOrNull(run?.settings),
    result,
    config,
    images: files.images,
  };
}

function numericRow(row: Record<string, unknown>): LogRow {
  return Object.fromEntries(Object.entries(row).filter((e): e is [string, number] => typeof e[1] === 'number' && Number.isFinite(e[1])));
}

/** A server-sent event. */
const sse = (event: string, data: unknown): string => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;

/**
 * The events of one run: `rows` with the history rows from index `from` (from 0 first, and again with
 * `reset: true` if the file was started afresh), then `run` with the detail whenever images or the result change.
 */
async function streamEvents(runs: RunsDirectory, id: string, reply: FastifyReply, open: Set<() => void>, timing: { pollMs: number; heartbeatMs: number }): Promise<void> {
  const dir = await runs.dirOf(id);
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
  let sent: LogRow[] = [];
  let shape = '';
  let stopped = false;
  let lastWrite = Date.now();
  const write = (text: string): void => {
    res.write(text);
    lastWrite = Date.now();
  };
  const look = async (): Promise<void> => {
    const detail = detailOf(id, await runs.files(dir));
    const grew = detail.history.length >= sent.length && sent.every((row, i) => JSON.stringify(row) === JSON.stringify(detail.history[i]));
    if (!grew) write(sse('rows', { from: 0, reset: true, columns: detail.columns, rows: detail.history }));
    else if (detail.history.length > sent.length || shape === '') write(sse('rows', { from: sent.length, columns: detail.columns, rows: detail.history.slice(sent.length) }));
    sent = detail.history;
    const nextShape = JSON.stringify([detail.images, detail.result, detail.settings]);
    if (nextShape !== shape) write(sse('run', detail));
    shape = nextShape;
    // A comment line now and then, so an idle socket timeout does not end a stream between a GPT run's evaluations.
    if (Date.now() - lastWrite >= timing.heartbeatMs) write(': keep-alive\n\n');
  };
  let timer: NodeJS.Timeout | undefined;
  const stop = (): void => {
    stopped = true;
    clearTimeout(timer);
    open.delete(stop);
    if (!res.writableEnded) res.end();
  };
  const tick = async (): Promise<void> => {
    if (stopped) return;
    await look().catch(() => undefined); // a file mid-rename: the next look reads it
    if (!stopped) timer = setTimeout(() => void tick(), timing.pollMs);
  };
  res.on('close', stop);
  open.add(stop);
  await tick();
}

export interface RunsOptions {
  /** --runs DIR; without it the list is empty and says why. */
  dir?: string;
  /** How often an events stream looks at the files (ms, default POLL_MS). */
  pollMs?: number;
  /** Longest silence on an events stream before a comment line is sent (ms, default HEARTBEAT_MS). */
  heartbeatMs?: number;
}

/** GET /api/runs, /api/runs/:id, /api/runs/:id/events and /api/runs/:id/images/:name. */
export function runsRoutes(options: RunsOptions): RouteModule {
  return async (app: FastifyInstance) => {
    // The server's close waits for open connections, so the streams end first (preClose runs before it waits).
    const streams = new Set<() => void>();
    app.addHook('preClose', async () => {
      for (const stop of [...streams]) stop();
    });
    const runs = options.dir === undefined ? undefined : await RunsDirectory.open(options.dir);
    const need = (): RunsDirectory => {
      if (!runs) throw new ApiError(404, 'This server was started without --runs DIR, so it lists no training runs', { code: 'no_runs_dir' });
      return runs;
    };
    app.get('/api/runs', async () => ({ dir: runs?.root ?? null, runs: runs ? await runs.list() : [] }));
    app.get<{ Params: { id: string } }>('/api/runs/:id', async (request) => need().detail(request.params.id));
    app.get<{ Params: { id: string } }>('/api/runs/:id/events', async (request, reply) => {
      await streamEvents(need(), request.params.id, reply, streams, { pollMs: options.pollMs ?? POLL_MS, heartbeatMs: options.heartbeatMs ?? HEARTBEAT_MS });
    });
    app.get<{ Params: { id: string; name: string } }>('/api/runs/:id/images/:name', async (request, reply) => {
      const bytes = await need().image(request.params.id, request.params.name);
      return reply.type('image/png').header('cache-control', 'no-cache').send(bytes);
    });
  };
}
