// When the native engine registers, and when it refuses with a reason: the pinned TensorFlow.js
// version and the internals its patches need, a worker thread, invalid environment variables, the
// addon missing; how `resnet engines` and 'auto' report it; and the RESNET_REQUIRE_NATIVE switch.
// Most of these run in child processes, which start from a clean registration.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { UserError } from '../../../src/errors.js';
import { findAddon } from '../../../src/engine/native/addon.js';
import { readNativeSettings } from '../../../src/engine/native/settings.js';
import {
  missingInternals, PINNED_TFJS_VERSION, runningTfjsVersions, tfjsVersionRefusal,
} from '../../../src/engine/native/tfjs_internals.js';
import { skip } from './helpers.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
const CLI = join(ROOT, 'dist/src/cli/main.js');
const BACKENDS = join(ROOT, 'dist/src/engine/backends.js');
const TF_PACKAGES = ['tfjs-core', 'tfjs-layers', 'tfjs-backend-cpu', 'tfjs-backend-wasm'];

function node(args: string[], env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(process.execPath, args, { cwd: ROOT, encoding: 'utf8', env: { ...process.env, RESNET_REQUIRE_NATIVE: '', ...env } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A script that starts `useBackend(name)` and prints the engine, or the error's class and message. */
const useBackendScript = (name: string) => `import(${JSON.stringify(BACKENDS)}).then((b) => b.useBackend(${JSON.stringify(name)}))` +
  `.then((e) => console.log('engine', e), (e) => { console.log(e.constructor.name + ': ' + e.message); })`;

test('package.json pins every TensorFlow.js package to the exact version installed and checked', () => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
  for (const name of TF_PACKAGES) {
    assert.equal(pkg.dependencies[`@tensorflow/${name}`], PINNED_TFJS_VERSION, `${name} in package.json`);
    const installed = JSON.parse(readFileSync(join(ROOT, 'node_modules/@tensorflow', name, 'package.json'), 'utf8')) as { version: string };
    assert.equal(installed.version, PINNED_TFJS_VERSION, `${name} installed`);
  }
  assert.deepEqual(runningTfjsVersions(), { 'tfjs-core': PINNED_TFJS_VERSION, 'tfjs-layers': PINNED_TFJS_VERSION, 'tfjs-backend-cpu': PINNED_TFJS_VERSION });
  assert.equal(tfjsVersionRefusal(runningTfjsVersions()), '');
  assert.deepEqual(missingInternals(), [], 'every internal the patches need is where they expect it');
});

test('another tfjs version is refused in one line naming it', () => {
  const reason = tfjsVersionRefusal({ 'tfjs-core': '4.23.0', 'tfjs-layers': PINNED_TFJS_VERSION, 'tfjs-backend-cpu': '5.0.0' });
  assert.match(reason, /^tfjs-core 4\.23\.0, tfjs-backend-cpu 5\.0\.0 is installed, and its patches of TensorFlow\.js internals are written for 4\.22\.0 exactly/);
  assert.doesNotMatch(reason, /\n/);
});

test('a running tfjs-core that reports another version: `resnet engines` says why, and auto says which engine it used instead', () => {
  // Preloaded before anything imports tfjs: the version tfjs-core's CommonJS exports report.
  const dir = mkdtempSync(join(tmpdir(), 'resnet-tfjs-version-'));
  const preload = join(dir, 'other-version.cjs');
  writeFileSync(preload, `require(${JSON.stringify(join(ROOT, 'node_modules/@tensorflow/tfjs-core'))}).version_core = '4.99.0';\n`);
  const engines = node(['--require', preload, CLI, 'engines']);
  assert.equal(engines.status, 0, engines.stderr);
  assert.match(engines.stdout, /^native +not available: tfjs-core 4\.99\.0 is installed, and its patches of TensorFlow\.js internals are written for 4\.22\.0 exactly/m);
  assert.match(engines.stdout, /^wasm +available/m);
  const auto = node(['--require', preload, '--input-type=module', '-e', useBackendScript('auto')]);
  rmSync(dir, { recursive: true, force: true });
  assert.match(auto.stdout, /^engine wasm$/m);
  assert.match(auto.stderr, /^resnet: using engine 'wasm': 'native' is not available: tfjs-core 4\.99\.0 is installed/m);
  assert.equal(auto.stderr.trim().split('\n').filter((l) => l.startsWith('resnet:')).length, 1, 'one line');
});

test('the engine\'s environment variables: invalid values are UserErrors naming the variable, empty ones count as unset', () => {
  assert.deepEqual(readNativeSettings({}), { threads: 0, loopThreads: 0, precision: null });
  assert.deepEqual(readNativeSettings({ RESNET_NATIVE_THREADS: '2', RESNET_NATIVE_LOOP_THREADS: '', RESNET_NATIVE_PRECISION: 'bfloat16' }),
    { threads: 2, loopThreads: 0, precision: 'bfloat16' });
  const bad: Array<[NodeJS.ProcessEnv, RegExp]> = [
    [{ RESNET_NATIVE_THREADS: 'abc' }, /^RESNET_NATIVE_THREADS must be a whole number of threads from 1 to 1024; got 'abc'$/],
    [{ RESNET_NATIVE_THREADS: '0' }, /RESNET_NATIVE_THREADS must be/],
    [{ RESNET_NATIVE_THREADS: '2.5' }, /RESNET_NATIVE_THREADS must be/],
    [{ RESNET_NATIVE_LOOP_THREADS: '100000' }, /RESNET_NATIVE_LOOP_THREADS must be/],
    [{ RESNET_NATIVE_PRECISION: 'float16' }, /^RESNET_NATIVE_PRECISION must be one of float32, bfloat16; got 'float16'$/],
  ];
  for (const [env, pattern] of bad) assert.throws(() => readNativeSettings(env), (e) => e instanceof UserError && pattern.test(e.message));
});

test('an invalid engine variable: `resnet engines` shows it as the reason, and auto stops with it instead of falling back', { skip }, () => {
  const env = { RESNET_NATIVE_THREADS: 'lots' };
  const engines = node([CLI, 'engines'], env);
  assert.match(engines.stdout, /^native +not available: RESNET_NATIVE_THREADS must be a whole number of threads from 1 to 1024; got 'lots'$/m);
  const auto = node(['--input-type=module', '-e', useBackendScript('auto')], env);
  assert.match(auto.stdout, /^UserError: RESNET_NATIVE_THREADS must be/m);
});

test('inside a worker thread the engine refuses to register, saying why; the main thread keeps it', async () => {
  const code = `const { parentPort } = require('node:worker_threads');
    import(${JSON.stringify(join(ROOT, 'dist/src/engine/native/backend.js'))}).then((b) =>
      parentPort.postMessage({ ok: b.registerNativeBackend(), reason: b.nativeUnavailableReason() }));`;
  const result = await new Promise<{ ok: boolean; reason: string }>((done, fail) => {
    const worker = new Worker(code, { eval: true });
    worker.once('message', done);
    worker.once('error', fail);
  });
  assert.equal(result.ok, false);
  assert.match(result.reason, /^it runs on the main thread only \(its oneDNN caches and scratch buffers are process-wide\), not in a worker_threads Worker/);
});

test('the addon itself loads in one JS thread at a time: a worker loading it while the main thread holds it gets an error, not shared state', { skip }, async () => {
  const code = `const { parentPort } = require('node:worker_threads');
    try { require(${JSON.stringify(findAddon())}); parentPort.postMessage('loaded'); }
    catch (e) { parentPort.postMessage(e.message); }`;
  const message = await new Promise<string>((done, fail) => {
    const worker = new Worker(code, { eval: true });
    worker.once('message', done);
    worker.once('error', fail);
  });
  assert.match(message, /tfjs_native is in use by another thread of this process/);
});

test('without the addon `resnet engines` says why and the tests of the engine fail under RESNET_REQUIRE_NATIVE=1', () => {
  // A copy of the compiled package with no native/build beside it: the addon is not found.
  const dir = mkdtempSync(join(tmpdir(), 'resnet-no-addon-'));
  try {
    cpSync(join(ROOT, 'dist'), join(dir, 'dist'), { recursive: true });
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
    cpSync(join(ROOT, 'package.json'), join(dir, 'package.json'));
    const engines = spawnSync(process.execPath, [join(dir, 'dist/src/cli/main.js'), 'engines'], { encoding: 'utf8' });
    assert.match(engines.stdout, /^native +not available: native\/build\/Release\/tfjs_native\.node not found \(run `npm run build:native`\)$/m);
    const testFile = join(dir, 'dist/test/engine/native/addon.test.js');
    // Run as a plain script (node:test prints TAP), outside this runner's child-process protocol.
    const env = { ...process.env, NODE_TEST_CONTEXT: undefined };
    const skipped = spawnSync(process.execPath, [testFile], { encoding: 'utf8', env: { ...env, RESNET_REQUIRE_NATIVE: '' } });
    assert.equal(skipped.status, 0, skipped.stdout);
    assert.match(skipped.stdout, /# SKIP native engine not available: .*tfjs_native\.node not found/);
    const required = spawnSync(process.execPath, [testFile], { encoding: 'utf8', env: { ...env, RESNET_REQUIRE_NATIVE: '1' } });
    assert.notEqual(required.status, 0);
    assert.match(required.stdout + required.stderr, /RESNET_REQUIRE_NATIVE=1: the native engine is not available: .*tfjs_native\.node not found/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the addon build: a build that cannot happen exits 0 with a reason, or 1 under RESNET_REQUIRE_NATIVE=1', () => {
  const build = (env: NodeJS.ProcessEnv) => node([join(ROOT, 'native/build.mjs')], { RESNET_SKIP_NATIVE: '1', ...env });
  const lenient = build({});
  assert.equal(lenient.status, 0);
  assert.match(lenient.stderr, /^native engine not built: RESNET_SKIP_NATIVE is set; the wasm engine will be used instead\./);
  const strict = build({ RESNET_REQUIRE_NATIVE: '1' });
  assert.equal(strict.status, 1);
  assert.match(strict.stderr, /^native engine not built: RESNET_SKIP_NATIVE is set \(required: --strict or RESNET_REQUIRE_NATIVE=1\)/);
});
