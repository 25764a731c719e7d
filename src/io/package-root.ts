/**
 * Forja's own package directory (the one whose package.json is named "forja"), found from a module's URL by
 * walking up: the same answer from src/ under tsx, from dist/ after tsc, and from the CLI bundle in dist/cli/,
 * whatever the depth of the file asking.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | undefined;

export function packageRoot(): string {
  if (cached) return cached;
  const start = dirname(fileURLToPath(import.meta.url));
  for (let dir = start; ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'forja') return (cached = dir);
    if (dirname(dir) === dir) throw new Error(`packageRoot: no package.json named "forja" above ${start}`);
  }
}

/** The version in Forja's package.json. */
export function packageVersion(): string {
  return (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
}
