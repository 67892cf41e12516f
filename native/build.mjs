// Builds the native engine's addon (native/build/Release/tfjs_native.node) with node-gyp.
// Run by `npm install` and `npm run build:native`. By default it never fails the install: without
// oneDNN's headers (Debian: libdnnl-dev), node-gyp or a C++ compiler it says why and exits 0, and
// the project falls back to the wasm engine. `--strict`, or RESNET_REQUIRE_NATIVE=1 in the
// environment (.ci/run sets it), makes a build that cannot happen or fails exit 1 instead.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const strict = process.argv.includes('--strict') || process.env.RESNET_REQUIRE_NATIVE === '1';
const INCLUDE_DIRS = ['/usr/include', '/usr/local/include', ...(process.env.CPATH ?? '').split(':').filter(Boolean)];

function skip(reason) {
  if (strict) {
    console.error(`native engine not built: ${reason} (required: --strict or RESNET_REQUIRE_NATIVE=1)`);
    process.exit(1);
  }
  console.warn(`native engine not built: ${reason}; the wasm engine will be used instead.`);
  process.exit(0);
}

if (process.env.RESNET_SKIP_NATIVE) skip('RESNET_SKIP_NATIVE is set');
if (process.platform !== 'linux') skip(`only Linux builds are set up (this is ${process.platform})`);
if (!INCLUDE_DIRS.some((dir) => existsSync(join(dir, 'dnnl.hpp')))) skip('oneDNN headers (dnnl.hpp) not found — install libdnnl-dev');
let nodeGyp;
try {
  nodeGyp = createRequire(import.meta.url).resolve('node-gyp/bin/node-gyp.js');
} catch {
  skip('node-gyp is not installed (it is a devDependency)');
}
// Build against the headers of the Node that runs this (no download) when npm names none.
const prefix = dirname(dirname(process.execPath));
const nodedir = process.env.npm_config_nodedir || (existsSync(join(prefix, 'include', 'node', 'node_api.h')) ? prefix : undefined);
// The JPEG decoder addon (src/jpeg.cc) needs libjpeg's headers; without them it is left out and the
// data layer decodes every image with sharp.
const withJpeg = INCLUDE_DIRS.some((dir) => existsSync(join(dir, 'jpeglib.h')));
if (!withJpeg) console.warn('JPEG decoder addon not built: libjpeg headers (jpeglib.h) not found — install libjpeg62-turbo-dev; sharp decodes every image');
const args = [nodeGyp, 'rebuild', ...(nodedir ? [`--nodedir=${nodedir}`] : [])];
const result = spawnSync(process.execPath, args, { cwd: here, stdio: 'inherit', env: { ...process.env, RESNET_WITH_JPEG: withJpeg ? '1' : '0' } });
if (result.status !== 0) skip(`node-gyp failed (exit ${result.status})`);
console.log(`native engine built: ${join(here, 'build', 'Release', 'tfjs_native.node')}${withJpeg ? ` (and ${join(here, 'build', 'Release', 'resnet_jpeg.node')})` : ''}`);
