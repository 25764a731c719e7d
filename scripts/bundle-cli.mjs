// `npm run build`'s last step: the `forja` command as one ES module graph in dist/cli/, bundled by esbuild from
// tsc's output. Node's loader resolves and compiles ~330 small files for `forja train` otherwise (0.17 s of its
// 0.42 s start here); bin/forja.js runs this bundle, the library (dist/index.js) stays unbundled.
import { build } from 'esbuild';

// Left to Node's resolver: native addons, packages that find their own files at run time (pdf.js its worker and
// fonts, sqlite-vec its binary), and Vega, which only the loss plot's worker thread loads.
const EXTERNAL = ['onnxruntime-node', 'better-sqlite3', 'sqlite-vec', 'sharp', '@resvg/resvg-js', 'pdfjs-dist', 'vega', 'vega-lite', 'pg-native'];

await build({
  entryPoints: { main: 'dist/apps/cli/main.js', 'plot-worker': 'dist/viz/plot-worker.js' }, // loss-plot.ts starts ./plot-worker.js
  outdir: 'dist/cli',
  bundle: true,
  splitting: true, // commands stay lazily loaded: each is its own chunk
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: EXTERNAL,
  // CommonJS dependencies call require(); an ES module has none of its own.
  banner: { js: "import { createRequire as __forjaCreateRequire } from 'node:module'; const require = __forjaCreateRequire(import.meta.url);" },
  logLevel: 'warning',
});
