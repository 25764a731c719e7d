/**
 * A PostgreSQL store URL: what `pg` connects to, the schema the store's tables live in (`?schema=`,
 * default `forja`), and the URL without its password for messages and `Store.location`.
 */

export const DEFAULT_SCHEMA = 'forja';

export interface ParsedStoreUrl {
  /** The URL without its password (in the user info or in `password`/`sslpassword` parameters). */
  location: string;
  /** What `pg` is given: the URL without the parameters only Forja reads. */
  connectionString: string;
  schema: string;
}

const SECRET_PARAMS = ['password', 'sslpassword'];

/** A plain, unquoted Postgres identifier; quoting is still applied everywhere it is used. */
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function checkSchemaName(schema: string, where: string): string {
  if (!IDENTIFIER.test(schema) || Buffer.byteLength(schema) > 63) {
    throw new TypeError(`${where}: schema ${JSON.stringify(schema)} is not a plain identifier (letters, digits, _; at most 63 bytes)`);
  }
  return schema;
}

export function redactPostgresUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    // Not parseable as a URL: drop everything between `scheme://user:` and `@`.
    return url.replace(/^([a-z]+:\/\/[^:/@]*):[^@]*@/i, '$1@');
  }
  u.password = '';
  for (const p of SECRET_PARAMS) u.searchParams.delete(p);
  return u.toString();
}

export function parseStoreUrl(url: string, schemaOverride?: string): ParsedStoreUrl {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new TypeError(`${redactPostgresUrl(url)} is not a valid PostgreSQL URL`);
  }
  if (!/^postgres(ql)?:$/i.test(u.protocol)) throw new TypeError(`${redactPostgresUrl(url)} is not a postgres:// URL`);
  const location = redactPostgresUrl(url);
  const fromUrl = u.searchParams.get('schema');
  u.searchParams.delete('schema');
  const schema = checkSchemaName(schemaOverride ?? fromUrl ?? DEFAULT_SCHEMA, location);
  return { location, connectionString: u.toString(), schema };
}

export function quoteIdent(name: string): string {
  return '"' + name.replace(/"/g, '""') + '"';
}
