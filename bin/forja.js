#!/usr/bin/env node
// In a clone (src/ present) the TypeScript sources run through tsx, so no build step is needed;
// the published package ships only the compiled dist/ (built by `npm pack`'s prepack).
import { existsSync } from 'node:fs';

const sources = new URL('../src/apps/cli/main.ts', import.meta.url);
if (existsSync(sources)) {
  const { register } = await import('tsx/esm/api');
  register();
  await import(sources.href);
} else {
  await import('../dist/apps/cli/main.js');
}
