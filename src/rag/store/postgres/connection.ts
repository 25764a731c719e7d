/**
 * The store's connections: a `pg` pool, its errors mapped to the store's typed errors, read transactions
 * (one snapshot), and write transactions that hold the store's advisory lock, so one writer runs at a time.
 */
import pg from 'pg';
import { StoreLockedError, StoreUnreachableError } from '../../errors.js';

export type Row = unknown[];
/** Runs one statement; rows come back as arrays in select-list order. */
export type Query = (text: string, values?: readonly unknown[]) => Promise<Row[]>;

export interface ConnectionOptions {
  connectTimeoutMs: number;
  lockTimeoutMs: number;
  maxConnections: number;
}

/** The advisory lock's first key, "FoRJ"; the second is a hash of the schema, so stores do not block each other. */
const LOCK_CLASS = 0x466f524a;

export function lockKeys(schema: string): [number, number] {
  // FNV-1a, 32 bits, as a signed int4.
  let h = 0x811c9dc5;
  for (const byte of Buffer.from(schema, 'utf8')) h = Math.imul(h ^ byte, 0x01000193);
  return [LOCK_CLASS, h | 0];
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'ETIMEDOUT',
  'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'EPIPE', 'ENOENT',
]);
/** Connection exceptions, authentication, unknown database, too many connections, shutdowns. */
const UNREACHABLE_SQLSTATE = /^(08|28|3D000|53300|57P0[1-3])/;
const LOST_CONNECTION = /connection terminated|timeout exceeded when trying to connect|not queryable|connection timeout/i;

function describe(e: unknown): string {
  if (e instanceof AggregateError && e.errors.length > 0) {
    // Node tries every address of a host name; say what each one answered.
    return [...new Set(e.errors.map(describe))].join('; ');
  }
  if (e instanceof Error) {
    const code = (e as { code?: unknown }).code;
    const message = e.message || String(code ?? e.name);
    return typeof code === 'string' && !message.includes(code) ? `${message} (${code})` : message;
  }
  return String(e);
}

function isUnreachable(e: unknown): boolean {
  if (e instanceof AggregateError) return e.errors.some(isUnreachable);
  if (!(e instanceof Error)) return false;
  const code = (e as { code?: unknown }).code;
  if (typeof code === 'string' && (NETWORK_CODES.has(code) || UNREACHABLE_SQLSTATE.test(code))) return true;
  return LOST_CONNECTION.test(e.message);
}

/** The SQLSTATE of a server error, if `e` is one. */
export function sqlState(e: unknown): string | undefined {
  return e instanceof pg.DatabaseError ? e.code : undefined;
}

class LockWaitExpired extends Error {}

export class Connection {
  private readonly pool: pg.Pool;
  private readonly keys: [number, number];

  constructor(
    readonly location: string,
    connectionString: string,
    schema: string,
    private readonly options: ConnectionOptions,
  ) {
    this.keys = lockKeys(schema);
    this.pool = new pg.Pool({
      connectionString,
      max: options.maxConnections,
      connectionTimeoutMillis: options.connectTimeoutMs,
      idleTimeoutMillis: 10_000,
      allowExitOnIdle: true,
      application_name: 'forja',
    });
    // An idle connection that the server drops must not crash the process; the next query reconnects.
    this.pool.on('error', () => {});
    this.pool.on('connect', (client) => client.on('error', () => {}));
  }

  /** Wraps what `pg` threw in the store's typed errors. */
  mapError(e: unknown, connecting = false): unknown {
    if (e instanceof StoreLockedError || e instanceof StoreUnreachableError) return e;
    if (connecting || isUnreachable(e)) return new StoreUnreachableError(this.location, describe(e), { cause: e });
    return e;
  }

  /** One statement in its own (implicit) transaction. */
  async query(text: string, values?: readonly unknown[]): Promise<Row[]> {
    const client = await this.connect();
    try {
      return await run(client, text, values);
    } catch (e) {
      throw this.mapError(e);
    } finally {
      client.release();
    }
  }

  /** Several statements that see one snapshot. */
  async read<T>(fn: (q: Query) => Promise<T>): Promise<T> {
    return this.transaction('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY', false, fn);
  }

  /** One transaction holding the store's write lock from its start. */
  async write<T>(fn: (q: Query) => Promise<T>): Promise<T> {
    return this.transaction('BEGIN', true, fn);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  private async connect(): Promise<pg.PoolClient> {
    try {
      return await this.pool.connect();
    } catch (e) {
      throw this.mapError(e, true);
    }
  }

  private async transaction<T>(begin: string, lock: boolean, fn: (q: Query) => Promise<T>): Promise<T> {
    const client = await this.connect();
    let broken: Error | undefined;
    try {
      if (lock) await this.beginLocked(client, begin);
      else await run(client, begin);
      const out = await fn((text, values) => run(client, text, values));
      await run(client, 'COMMIT');
      return out;
    } catch (e) {
      if (e instanceof LockWaitExpired) {
        // A statement is still pending on this connection; only closing it cancels that.
        broken = e;
        throw new StoreLockedError(this.location, { cause: e });
      }
      try {
        await run(client, 'ROLLBACK');
      } catch (r) {
        broken = r instanceof Error ? r : new Error(String(r));
      }
      throw this.mapError(e);
    } finally {
      client.release(broken);
    }
  }

  /**
   * BEGIN and the advisory lock: taken at once when free, else waited for up to lockTimeoutMs on the
   * server (lock_timeout). A server or pooler that serializes whole sessions makes BEGIN itself wait
   * instead (PGlite's socket server does), so the client bounds the whole step too.
   */
  private async beginLocked(client: pg.PoolClient, begin: string): Promise<void> {
    const { lockTimeoutMs } = this.options;
    const [k1, k2] = this.keys;
    const steps = async () => {
      await run(client, begin);
      const [[free]] = (await run(client, 'SELECT pg_try_advisory_xact_lock($1, $2)', [k1, k2])) as [[boolean]];
      if (free) return;
      if (lockTimeoutMs === 0) throw new StoreLockedError(this.location);
      await run(client, "SELECT set_config('lock_timeout', $1, true)", [`${lockTimeoutMs}ms`]);
      try {
        await run(client, 'SELECT pg_advisory_xact_lock($1, $2)', [k1, k2]);
      } catch (e) {
        if (sqlState(e) === '55P03') throw new StoreLockedError(this.location, { cause: e });
        throw e;
      }
      await run(client, 'SET LOCAL lock_timeout TO DEFAULT');
    };
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new LockWaitExpired(`no lock within ${lockTimeoutMs} ms`)), lockTimeoutMs + 1000);
    });
    const attempt = steps();
    attempt.catch(() => {});
    try {
      await Promise.race([attempt, expired]);
    } finally {
      clearTimeout(timer);
    }
  }
}

async function run(client: pg.PoolClient, text: string, values?: readonly unknown[]): Promise<Row[]> {
  const result = await client.query({ text, values: values as unknown[] | undefined, rowMode: 'array' });
  return result.rows as Row[];
}
