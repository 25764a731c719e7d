/**
 * Absolute paths of the shared, read-only reference fixtures and datasets. They live beside the
 * repository (../shared from the repo root) and are never copied into it.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root: this file is <root>/test/helpers/fixtures.ts. */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** ../shared/fixtures: reference checkpoints and golden outputs. */
export const FIXTURES_DIR = fileURLToPath(new URL('../../../shared/fixtures', import.meta.url));

/** ../shared/data: shared datasets (tinyshakespeare, quijote, scifact). */
export const DATA_DIR = fileURLToPath(new URL('../../../shared/data', import.meta.url));

/** Path of a file or folder inside ../shared/fixtures. */
export function fixturePath(...parts: string[]): string {
  return join(FIXTURES_DIR, ...parts);
}

/** Path of a file or folder inside ../shared/data. */
export function dataPath(...parts: string[]): string {
  return join(DATA_DIR, ...parts);
}
