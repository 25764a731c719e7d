/**
 * A PostgreSQL URL for tests: FORJA_TEST_POSTGRES_URL when set (.ci/run starts one server for the whole
 * run), else a PGlite socket server with pgvector, started here as a child process on a free port.
 * Call `stopPostgres` in an `after` hook; the child also exits when this process does (its stdin closes).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import pg from 'pg';

const START_TIMEOUT_MS = 120_000;

let server: { child: ChildProcess; url: Promise<string> } | undefined;

/** The PGlite socket server's script: `pglite-server` of @electric-sql/pglite-socket. */
function serverScript(): string {
  const entry = createRequire(import.meta.url).resolve('@electric-sql/pglite-socket');
  return join(dirname(entry), 'scripts', 'server.js');
}

// Runs in the child before the server: exit when the parent's end of stdin closes.
const EXIT_WITH_PARENT = 'data:text/javascript,' + encodeURIComponent("process.stdin.on('end',()=>process.exit(0));process.stdin.resume();");

export function postgresUrl(): Promise<string> {
  const fromEnv = process.env.FORJA_TEST_POSTGRES_URL;
  if (fromEnv) return Promise.resolve(fromEnv);
  if (server === undefined) {
    const child = spawn(
      process.execPath,
      [`--import=${EXIT_WITH_PARENT}`, serverScript(), '-p', '0', '-e', '@electric-sql/pglite-pgvector:vector', '-m', '8'],
      { stdio: ['pipe', 'pipe', 'pipe'] },
    );
    server = { child, url: waitForServer(child) };
  }
  return server.url;
}

/** The server prints `listening on {"port":N,...}`; then it must answer a query. */
function waitForServer(child: ChildProcess): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => fail(new Error(`the PGlite server did not start within ${START_TIMEOUT_MS} ms:\n${output}`)), START_TIMEOUT_MS);
    const fail = (e: Error) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(e);
    };
    child.once('exit', (code, signal) => fail(new Error(`the PGlite server exited (${signal ?? code}) before listening:\n${output}`)));
    child.stderr!.on('data', (b: Buffer) => (output += b.toString()));
    child.stdout!.on('data', (b: Buffer) => {
      output += b.toString();
      const m = /listening on (\{.*\})/.exec(output);
      if (!m) return;
      child.stdout!.removeAllListeners('data');
      child.stdout!.resume();
      const { port } = JSON.parse(m[1]!) as { port: number };
      const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
      ready(url).then(
        () => {
          clearTimeout(timer);
          child.removeAllListeners('exit');
          // Neither the child nor its pipes keep this process alive.
          child.unref();
          for (const s of [child.stdin, child.stdout, child.stderr]) (s as unknown as { unref?: () => void } | null)?.unref?.();
          resolve(url);
        },
        (e: Error) => fail(e),
      );
    });
  });
}

async function ready(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  await client.connect();
  try {
    await client.query('SELECT 1');
  } finally {
    await client.end();
  }
}

export async function stopPostgres(): Promise<void> {
  const s = server;
  server = undefined;
  if (s === undefined || s.child.exitCode !== null) return;
  await new Promise<void>((resolve) => {
    const force = setTimeout(() => s.child.kill('SIGKILL'), 5000);
    s.child.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    s.child.kill('SIGTERM');
  });
}
