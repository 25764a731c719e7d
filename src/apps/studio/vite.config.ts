/**
 * Forja Studio's bundle: index.html and its assets into dist/studio/, which `forja serve` serves at `/`
 * (src/apps/server/studio.ts). Everything is bundled: the page loads nothing from outside the server.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/',
  publicDir: false,
  logLevel: 'warn',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: fileURLToPath(new URL('../../../dist/studio', import.meta.url)),
    emptyOutDir: true,
    assetsDir: 'assets',
    // No inlined data: URLs for fonts or images; the server's CSP allows only its own files.
    assetsInlineLimit: 0,
    target: 'es2022',
    reportCompressedSize: false,
  },
});
