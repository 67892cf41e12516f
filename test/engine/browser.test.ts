// The browser's engine choice (src/engine/browser.ts), run in Node with stand-in registrars: WebGPU
// is chosen where it is present, skipped cleanly (with its reason) where absent or where it fails to
// start, software WebGL is left to wasm by 'auto' but can be named; and the real registrars in Node
// (no navigator.gpu, no WebGL) fall back to wasm.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import * as tf from '../../src/tf.js';
import { engineRegistry, BROWSER_REGISTRARS, type Probe, type Registrar, type BrowserEngine } from '../../src/engine/browser.js';

const ok = (extra: Partial<Probe> = {}): Registrar => async () => ({ reason: '', ...extra });
const absent = (reason: string): Registrar => async () => ({ reason });

/** Registers a stand-in GPU backend under `name` (a cpu backend with the cpu kernels), or one whose start fails. */
function fakeGpu(name: string, starts = true): Registrar {
  return async () => {
    tf.registerBackend(name, () => {
      if (!starts) throw new Error('no device');
      return new MathBackendCPU();
    });
    for (const kernel of tf.getKernelsForBackend('cpu')) tf.registerKernel({ ...kernel, backendName: name });
    return { reason: '' };
  };
}

async function withCleanup<T>(names: string[], fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } finally {
    await tf.setBackend('cpu');
    for (const name of names) {
      if (tf.findBackendFactory(name)) tf.removeBackend(name);
      for (const kernel of tf.getKernelsForBackend(name)) tf.unregisterKernel(kernel.kernelName, name);
    }
  }
}

const sum = () => tf.tidy(() => tf.add(tf.tensor1d([1, 2]), tf.tensor1d([3, 4])).arraySync());

test('auto picks WebGPU where a GPU adapter exists, and it computes', async () => {
  await withCleanup(['webgpu'], async () => {
    const registry = engineRegistry({ webgpu: fakeGpu('webgpu'), webgl: ok(), wasm: ok(), cpu: ok() });
    assert.equal(await registry.use('auto'), 'webgpu');
    assert.equal(tf.getBackend(), 'webgpu');
    assert.deepEqual(sum(), [4, 6]);
  });
});

test('without WebGPU, auto falls back to WebGL on a GPU, and reports why WebGPU was skipped', async () => {
  await withCleanup(['webgl'], async () => {
    const registry = engineRegistry({ webgpu: absent('no adapter'), webgl: fakeGpu('webgl'), wasm: ok(), cpu: ok() });
    assert.equal(await registry.use('auto'), 'webgl');
    const report = await registry.report();
    assert.deepEqual(report.find((s) => s.name === 'webgpu'), { name: 'webgpu', reason: 'no adapter', auto: false, detail: undefined });
    assert.deepEqual(await registry.available(), ['webgl', 'wasm', 'cpu']);
    await assert.rejects(registry.use('webgpu'), /engine 'webgpu' cannot run here \(webgpu: no adapter\)/);
  });
});

test('software WebGL is skipped by auto (wasm is faster) but can still be chosen by name', async () => {
  await withCleanup(['webgl'], async () => {
    const webgl: Registrar = async () => ({ ...(await fakeGpu('webgl')()), software: true, detail: 'SwiftShader' });
    const registry = engineRegistry({ webgpu: absent('none'), webgl, wasm: absent('no wasm'), cpu: ok() });
    assert.equal(await registry.use('auto'), 'cpu');
    const status = (await registry.report()).find((s) => s.name === 'webgl')!;
    assert.equal(status.reason, '');
    assert.equal(status.auto, false);
    assert.match(status.detail ?? '', /software-rendered \(SwiftShader\)/);
    assert.equal(await registry.use('webgl'), 'webgl');
    assert.deepEqual(sum(), [4, 6]);
  });
});

test('an engine that registers but cannot start (no device) is skipped, and stays skipped', async () => {
  await withCleanup(['webgpu'], async () => {
    const registry = engineRegistry({ webgpu: fakeGpu('webgpu', false), webgl: absent('no WebGL'), wasm: absent('no wasm'), cpu: ok() });
    assert.equal(await registry.use('auto'), 'cpu');
    const webgpu = (await registry.report()).find((s) => s.name === 'webgpu')!;
    assert.match(webgpu.reason, /did not start/);
    assert.deepEqual(await registry.available(), ['cpu']);
  });
});

test('a registrar that throws is reported, not propagated', async () => {
  const boom: Registrar = async () => {
    throw new Error('module failed to load\nstack');
  };
  const registry = engineRegistry({ webgpu: boom, webgl: absent('x'), wasm: absent('y'), cpu: ok() });
  const status = (await registry.report())[0];
  assert.equal(status.reason, 'it did not start (module failed to load)');
  assert.equal(await registry.use('auto'), 'cpu');
});

test("the real registrars in Node: no WebGPU, no WebGL, so 'auto' runs wasm", async () => {
  const registry = engineRegistry(BROWSER_REGISTRARS);
  const report = await registry.report();
  const reason = (name: BrowserEngine) => report.find((s) => s.name === name)!.reason;
  assert.match(reason('webgpu'), /no WebGPU/);
  assert.match(reason('webgl'), /no WebGL/);
  assert.equal(reason('wasm'), '');
  try {
    assert.equal(await registry.use('auto'), 'wasm');
    assert.deepEqual(sum(), [4, 6]);
  } finally {
    await tf.setBackend('cpu');
  }
});
