// The library core must run in a browser: no module reachable from it may import Node's built-ins
// or a Node-only package. This walks the compiled import graph (static and dynamic imports) from
// every core module and names the first path that leaves the core.
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../src');

/** Modules that must stay browser-safe (compiled paths under dist/src). */
export const CORE_MODULES = [
  'blocks.js',
  'tf.js',
  'models/registry.js',
  'models/resnet.js',
  'models/resnet50.js',
  'models/cifar.js',
  'models/preprocessing.js',
  'models/keras-applications.js',
  'data/index.js',
  'data/source.js',
  'data/assemble.js',
  'data/augment-pixels.js',
  'data/store.js',
  'train/recipes.js',
  'train/options.js',
  'train/phases.js',
  'train/head.js',
  'train/loop.js',
  'train/optimizer.js',
  'train/schedule.js',
  'train/loss.js',
  'train/metrics.js',
  'train/clip.js',
  'train/recalibrate.js',
  'train/evaluate.js',
  'train/finetune.js',
  'train/freeze.js',
  'train/phases.js',
  'train/head.js',
  'inspect/summary.js',
  'inspect/flops.js',
  // The browser entry point and what the web page imports.
  'index.js',
  'engine/browser.js',
  'engine/wasm/kernels.js',
  'train/model-folder.js',
  '../web/main.js',
  'explain/gradcam.js',
  'models/cut.js',
  'transfer/classifier.js',
  'transfer/features.js',
  'transfer/fit.js',
  // The interop modules that parse, map and serialise (file access lives in interop/import, export, keras-h5, keras-archive, hdf5).
  'interop/tensors.js',
  'interop/assign.js',
  'interop/head.js',
  'interop/safetensors.js',
  'interop/torchvision.js',
  'interop/keras-config.js',
  'interop/keras-mapping.js',
  'interop/zip.js',
  'interop/graph.js',
  'interop/keras-export.js',
  'interop/onnx-export.js',
];

/** Packages that exist only in Node (native code, file system, processes). */
const NODE_ONLY_PACKAGES = ['sharp', 'h5wasm', 'cli-progress', 'commander', 'mnist', 'node-addon-api', 'onnxruntime-node'];

function specifiers(code: string): string[] {
  const found: string[] = [];
  const patterns = [/\bimport\s+[^'"()]*?from\s*['"]([^'"]+)['"]/g, /\bexport\s+[^'"()]*?from\s*['"]([^'"]+)['"]/g, /\bimport\s*['"]([^'"]+)['"]/g, /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g];
  for (const pattern of patterns) for (const m of code.matchAll(pattern)) found.push(m[1]);
  return found;
}

function isNodeOnly(spec: string): boolean {
  if (spec.startsWith('node:')) return true;
  const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0];
  return NODE_ONLY_PACKAGES.includes(name) || ['fs', 'path', 'os', 'child_process', 'worker_threads', 'module', 'url', 'crypto', 'zlib'].includes(spec);
}

/** The first chain of imports from `entry` that reaches a Node-only module, or null. */
function nodeOnlyChain(entry: string): string[] | null {
  const seen = new Set<string>();
  const walk = (file: string, chain: string[]): string[] | null => {
    if (seen.has(file)) return null;
    seen.add(file);
    for (const spec of specifiers(readFileSync(file, 'utf8'))) {
      if (isNodeOnly(spec)) return [...chain, spec];
      if (!spec.startsWith('.')) continue;
      const next = resolve(dirname(file), spec);
      const found = walk(next, [...chain, relative(SRC, next)]);
      if (found) return found;
    }
    return null;
  };
  return walk(join(SRC, entry), [entry]);
}

for (const entry of CORE_MODULES) {
  test(`core module ${entry} reaches no Node-only import`, () => {
    const chain = nodeOnlyChain(entry);
    assert.equal(chain, null, `${entry} reaches a Node-only import: ${chain?.join(' -> ')}`);
  });
}

test("package.json's browser entry point is a checked core module, and Node's entry is not", () => {
  const pkg = JSON.parse(readFileSync(resolve(SRC, '../../package.json'), 'utf8')) as {
    browser: string;
    exports: Record<string, Record<string, { default: string }>>;
  };
  const entry = (path: string) => relative(SRC, resolve(SRC, '../..', path));
  assert.equal(entry(pkg.exports['.'].browser.default), 'index.js');
  assert.equal(entry(pkg.exports['.'].default.default), 'index.js');
  assert.equal(entry(pkg.browser), 'index.js');
  assert.ok(CORE_MODULES.includes('index.js'));
  assert.equal(entry(pkg.exports['.'].node.default), 'node.js');
  assert.ok(nodeOnlyChain('node.js'), 'the Node entry point reaches the readers and the native engine');
});

test('the checker itself finds a Node-only import (it can fail)', () => {
  assert.ok(nodeOnlyChain('data/node.js'), 'data/node.js imports sharp and node:fs, and the walk must see it');
});
