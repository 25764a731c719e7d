/**
 * Forja Studio at `/`: the files Vite built into dist/studio/ (`npm run build:studio`, run by `npm ci` through
 * "prepare"). They are listed once at start-up; a request's path is only ever a key into that list, never joined
 * into a file path. Without a build, `/` answers 503 with a page that says how to build it.
 */
import { lstat, readdir, readFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { createHash } from 'node:crypto';
import type { FastifyReply } from 'fastify';
import type { RouteModule } from './app.js';
import { keyMatches } from './auth.js';
import { ApiError } from './errors.js';
import { packageRoot } from '../../io/package-root.js';

/** dist/studio/ of this package. */
export const STUDIO_DIR = join(packageRoot(), 'dist', 'studio') + '/';

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.json': 'application/json',
  '.map': 'application/json',
};

/** The page may load only the server's own files and call only the server: no CDN, no remote fonts. */
export const STUDIO_CSP = "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

interface StudioFile {
  bytes: Buffer;
  type: string;
}

/** Every regular file under `dir` (symlinks skipped) by its URL path, `/assets/x.js`. */
async function listFiles(dir: string, prefix = ''): Promise<Map<string, StudioFile>> {
  const files = new Map<string, StudioFile>();
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) for (const [url, file] of await listFiles(path, `${prefix}/${entry.name}`)) files.set(url, file);
    else if (entry.isFile() && (await lstat(path)).isFile()) files.set(`${prefix}/${entry.name}`, { bytes: await readFile(path), type: TYPES[extname(entry.name)] ?? 'application/octet-stream' });
  }
  return files;
}

const MISSING_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Forja Studio is not built</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 46em; margin: 4em auto; line-height: 1.5">
<h1>Forja Studio is not built</h1>
<p>This server found no <code>dist/studio/index.html</code> in its package. Build the studio with
<code>npm run build:studio</code> (a fresh clone's <code>npm ci</code> does it), then restart <code>forja serve</code>.</p>
<p>The API under <code>/v1</code> works without it.</p>
</body></html>
`;

export interface StudioOptions {
  /** The built studio (default STUDIO_DIR). */
  dir?: string;
}

/**
 * GET / and GET /assets/* from the built studio, and GET /api/models: the served models with their kinds (text,
 * rag, embedding, image, audio), which /v1/models leaves out, so each page lists the models it can use. It asks
 * for the --api-key as /v1/models does.
 */
export function studioRoutes(options: StudioOptions = {}): RouteModule {
  return async (app, ctx) => {
    const key = ctx.options.apiKey === undefined ? undefined : createHash('sha256').update(ctx.options.apiKey, 'utf8').digest();
    app.get('/api/models', async (request) => {
      if (key && !keyMatches(key, request.headers.authorization)) throw new ApiError(401, 'The model list needs the API key: send it as Authorization: Bearer YOUR_KEY (the studio has a field for it)', { code: 'invalid_api_key' });
      return { object: 'list', data: ctx.models().map((m) => ({ id: m.id, object: 'model', created: m.created, owned_by: m.owned_by, kind: m.kind ?? 'text' })) };
    });
    const dir = options.dir ?? STUDIO_DIR;
    const files = await listFiles(dir);
    const index = files.get('/index.html');
    const send = (reply: FastifyReply, file: StudioFile, cache: string): FastifyReply =>
      reply.type(file.type).header('cache-control', cache).header('content-security-policy', STUDIO_CSP).header('x-content-type-options', 'nosniff').send(file.bytes);
    app.get('/', async (_request, reply) => {
      if (!index) return reply.code(503).type('text/html; charset=utf-8').header('cache-control', 'no-store').send(MISSING_PAGE);
      return send(reply, index, 'no-cache');
    });
    app.get<{ Params: { '*': string } }>('/assets/*', async (request, reply) => {
      const file = files.get(`/assets/${request.params['*']}`);
      if (!file) throw new ApiError(404, `The studio has no file ${JSON.stringify(`/assets/${request.params['*']}`)}`, { code: 'unknown_url' });
      // Vite names assets by their content's hash, so a name never changes meaning.
      return send(reply, file, 'public, max-age=31536000, immutable');
    });
  };
}
