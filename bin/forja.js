#!/usr/bin/env -S GLIBC_TUNABLES=glibc.malloc.hugetlb=1:${GLIBC_TUNABLES} node
// glibc's hugetlb tunable (a no-op elsewhere; a user's own GLIBC_TUNABLES come after it, so they win): onnxruntime-node
// copies every output into a fresh ArrayBuffer, and on 4 KiB pages each first touch is a page fault (~10 µs here);
// Whisper's 18 MB of cross K/V took 4,500 of them per encode. README "Memory pages" has the measurements.
// Runs the compiled CLI bundle, dist/cli/ (plain JavaScript, no TypeScript tooling at run time; scripts/bundle-cli.mjs
// says why it is bundled). In a clone, `npm ci` builds dist/
// (the "prepare" script) and `npm run build` rebuilds it; when src/ sits beside dist/, refuse to run stale output.
import { readdirSync, statSync } from 'node:fs';

const root = new URL('../', import.meta.url);
// Written by `npm run build` after tsc: tsc's own build info is not rewritten when nothing changed.
const stamp = new URL('dist/.built', root);

/** The newest .ts file under `dir` newer than `since` (ms), if any. */
function newerSource(dir, since) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = new URL(entry.name + (entry.isDirectory() ? '/' : ''), dir);
    if (entry.isDirectory()) {
      const found = newerSource(path, since);
      if (found) return found;
    } else if (entry.name.endsWith('.ts') && statSync(path).mtimeMs > since) {
      return path;
    }
  }
  return undefined;
}

let sources;
try {
  sources = statSync(new URL('src/', root)).isDirectory();
} catch {
  sources = false; // an installed package: dist/ only
}
if (sources) {
  let built;
  try {
    built = statSync(stamp).mtimeMs;
  } catch {
    process.stderr.write('forja: dist/ is not built; run `npm run build` (or `npm ci`) first\n');
    process.exit(1);
  }
  const changed = newerSource(new URL('src/', root), built);
  if (changed) {
    const rel = changed.pathname.slice(root.pathname.length);
    process.stderr.write(`forja: dist/ is older than src/ (${rel} changed since the last build); run \`npm run build\`\n`);
    process.exit(1);
  }
}
await import('../dist/cli/main.js');
