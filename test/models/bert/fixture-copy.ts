/** A writable copy of a read-only fixture in a temp dir, with some files replaced or removed. */
import { cpSync, mkdtempSync, rmSync, writeFileSync, chmodSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixturePath } from '../../helpers/fixtures.js';

function makeWritable(dir: string): void {
  chmodSync(dir, 0o755);
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) makeWritable(p);
    else chmodSync(p, 0o644);
  }
}

/** `edits`: file → new JSON (or text), or null to delete it. Returns the dir and a cleanup. */
export function fixtureCopy(name: string, edits: Record<string, unknown> = {}): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `forja-${name}-`));
  cpSync(fixturePath(name), dir, { recursive: true });
  makeWritable(dir);
  for (const [file, content] of Object.entries(edits)) {
    const path = join(dir, file);
    if (content === null) rmSync(path, { recursive: true, force: true });
    else writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  }
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
