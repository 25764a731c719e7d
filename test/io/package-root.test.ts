import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot, packageVersion } from '../../src/io/package-root.js';
import { REPO_ROOT } from '../helpers/fixtures.js';

test('packageRoot walks up from src/io/ to the package.json named forja', () => {
  assert.equal(packageRoot(), REPO_ROOT.replace(/\/$/, ''));
  assert.equal(packageVersion(), (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version);
});
