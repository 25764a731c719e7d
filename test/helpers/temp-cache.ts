/** Points $FORJA_CACHE at a fresh temp dir for one test file (cache switched on by the test), restored and deleted after it. */
import { after } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setCacheEnabled } from '../../src/io/cache.js';

export function useTempCache(prefix: string): string {
  const root = mkdtempSync(join(tmpdir(), prefix));
  const saved = { FORJA_CACHE: process.env.FORJA_CACHE, FORJA_NO_CACHE: process.env.FORJA_NO_CACHE };
  process.env.FORJA_CACHE = root;
  delete process.env.FORJA_NO_CACHE;
  after(() => {
    setCacheEnabled(false);
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    rmSync(root, { recursive: true, force: true });
  });
  return root;
}
