// Prediction throughput of the course ResNet-50 (64x64x3, 6 classes, batch 32, inference mode) in
// the web page, per engine, in headless Chromium (test/web/chromium.ts), side by side with the wasm
// engine in Node: rounds alternate (page wasm with one thread per core, Node wasm, page wasm with
// TF.js's default threads) `--pairs` times, ratios = page / Node, medians reported
// (../shared/spec/benchmark.md). The page is served by `resnet serve`'s server, so
// it is cross-origin isolated and its wasm engine runs threads with SIMD; WebGL here is
// software-rendered (SwiftShader, no GPU) and measured with fewer batches; WebGPU is measured where
// a GPU adapter exists and reported as skipped (with the reason) elsewhere. One JSON line.
// Usage: cpulock -x node dist/bench/web.js [--pairs 3] [--batches 8] [--slow-batches 2] [--engines wasm,webgl,webgpu]
//        node dist/bench/web.js --node-wasm   (one Node measurement; what the pairs run as a child)
import { execFileSync } from 'node:child_process';
import { cpus } from 'node:os';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '../src/tf.js';
import { resnet50 } from '../src/models/resnet50.js';
import { modelFiles } from '../src/train/model-folder.js';

const BATCH_SIZE = 32;
const INPUT_SHAPE: [number, number, number] = [64, 64, 3];
const CLASSES = 6;
const WARMUP_BATCHES = 1;

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

interface Rate {
  predict_images_per_sec: number;
  seconds: number;
  batches: number;
}

/**
 * Images per second of `model.predict` on one random batch, after warm-up: the same function runs
 * in Node and, serialised by Playwright, in the page (so it refers to nothing outside itself).
 */
async function predictRate(t: typeof tf, model: tf.LayersModel, batch: number, shape: number[], warmup: number, batches: number): Promise<Rate> {
  const x = t.randomUniform([batch, ...shape], 0, 1);
  for (let i = 0; i < warmup; i++) {
    const y = model.predict(x) as tf.Tensor;
    await y.data();
    y.dispose();
  }
  const start = performance.now();
  for (let i = 0; i < batches; i++) {
    const y = model.predict(x) as tf.Tensor;
    await y.data();
    y.dispose();
  }
  const seconds = (performance.now() - start) / 1000;
  x.dispose();
  return { predict_images_per_sec: (batch * batches) / seconds, seconds, batches };
}

if (process.argv.includes('--node-wasm')) {
  // One Node measurement, in its own process (as a user's Node program would run it).
  const { useBackend } = await import('../src/engine/backends.js');
  const { getThreadsCount } = await import('@tensorflow/tfjs-backend-wasm');
  await useBackend('wasm');
  const model = resnet50({ inputShape: INPUT_SHAPE, classes: CLASSES });
  const rate = await predictRate(tf, model, BATCH_SIZE, INPUT_SHAPE, WARMUP_BATCHES, Number(option('batches', '8')));
  console.log(JSON.stringify({ ...rate, threads: getThreadsCount(), simd: await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT') }));
  process.exit(0);
}

const pairs = Number(option('pairs', '3'));
const batches = Number(option('batches', '8'));
const slowBatches = Number(option('slow-batches', '2'));
const engines = option('engines', 'wasm,webgl,webgpu').split(',');
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

const { useBackend } = await import('../src/engine/backends.js');
await useBackend('cpu');
const folder = mkdtempSync(join(tmpdir(), 'resnet-bench-web-'));
const files = await modelFiles(resnet50({ inputShape: INPUT_SHAPE, classes: CLASSES }), { model: 'resnet50', classNames: ['0', '1', '2', '3', '4', '5'], inputShape: INPUT_SHAPE, epoch: 0 });
for (const [name, content] of Object.entries(files)) writeFileSync(join(folder, name), content);

const { startServer } = await import('../src/serve/server.js');
const { launchChromium } = await import('../test/web/chromium.js');
const server = await startServer({ models: [folder], port: 0, host: '127.0.0.1' });
const browser = await launchChromium();
const errors: string[] = [];
async function openPage(query = '') {
  const p = await browser.context.newPage();
  p.on('pageerror', (e) => errors.push(e.message));
  await p.goto(server.url + query);
  await p.evaluate(() => window.resnetPage.ready);
  return p;
}
const page = await openPage();
// TF.js's own default: a thread pool of half the logical cores.
const defaultThreadsPage = await openPage('?wasmThreads=1');

const inPage = (engine: string, n: number, p = page) =>
  p.evaluate(
    async ({ engine, n, source, batch, shape, warmup }) => {
      const used = await window.resnetPage.useEngine(engine as 'wasm');
      if (used !== engine) return { skipped: `the page runs ${used} instead` };
      const rate = new Function(`return (${source})`)() as typeof predictRate;
      const model = window.resnetPage.active()!.model;
      return { ...(await rate(window.resnetPage.tf, model, batch, shape, warmup, n)), threads: engine === 'wasm' ? await window.resnetPage.wasmThreads() : null };
    },
    { engine, n, source: predictRate.toString(), batch: BATCH_SIZE, shape: INPUT_SHAPE, warmup: WARMUP_BATCHES },
  );
const inNode = (): Rate & { threads: number; simd: boolean } =>
  JSON.parse(execFileSync(process.execPath, [fileURLToPath(import.meta.url), '--node-wasm', '--batches', String(batches)], { encoding: 'utf8' }));

const statuses = await page.evaluate(() =>
  [...document.querySelectorAll<HTMLOptionElement>('[data-testid=engine] option')].map((o) => ({ engine: o.value, available: !o.disabled, label: o.textContent })),
);
const result: Record<string, unknown> = {
  model: 'resnet50',
  input: INPUT_SHAPE,
  batch_size: BATCH_SIZE,
  cpus: cpus().length,
  cpu: cpus()[0]?.model,
  chromium: browser.context.browser()?.version() ?? (await page.evaluate(() => navigator.userAgent)),
  cross_origin_isolated: await page.evaluate(() => crossOriginIsolated),
};
const pairsOut: { page_wasm: number; node_wasm: number; ratio: number; page_wasm_default_threads: number; ratio_default_threads: number }[] = [];
let pageThreads: number | null = null;
let defaultThreads: number | null = null;
let nodeInfo: { threads: number; simd: boolean } | null = null;
if (engines.includes('wasm')) {
  for (let i = 0; i < pairs; i++) {
    const p = (await inPage('wasm', batches)) as Rate & { threads: number | null };
    const n = inNode();
    const d = (await inPage('wasm', batches, defaultThreadsPage)) as Rate & { threads: number | null };
    pageThreads = p.threads;
    defaultThreads = d.threads;
    nodeInfo = { threads: n.threads, simd: n.simd };
    pairsOut.push({
      page_wasm: p.predict_images_per_sec,
      node_wasm: n.predict_images_per_sec,
      ratio: p.predict_images_per_sec / n.predict_images_per_sec,
      page_wasm_default_threads: d.predict_images_per_sec,
      ratio_default_threads: d.predict_images_per_sec / n.predict_images_per_sec,
    });
  }
  result.wasm = {
    pairs: pairsOut,
    page_wasm_median: median(pairsOut.map((p) => p.page_wasm)),
    node_wasm_median: median(pairsOut.map((p) => p.node_wasm)),
    ratio_median: median(pairsOut.map((p) => p.ratio)),
    page_wasm_default_threads_median: median(pairsOut.map((p) => p.page_wasm_default_threads)),
    ratio_default_threads_median: median(pairsOut.map((p) => p.ratio_default_threads)),
    page_threads: pageThreads,
    page_default_threads: defaultThreads,
    node_threads: nodeInfo?.threads,
    node_simd: nodeInfo?.simd,
  };
}
for (const engine of ['webgl', 'webgpu'].filter((e) => engines.includes(e))) {
  const status = statuses.find((s) => s.engine === engine);
  if (!status?.available) {
    result[engine] = { skipped: status?.label ?? 'not offered' };
    continue;
  }
  result[engine] = { ...(await inPage(engine, slowBatches)), note: status.label };
}
result.page_errors = errors;
console.log(JSON.stringify(result));
await defaultThreadsPage.close();
await browser.close();
await server.close();
rmSync(folder, { recursive: true, force: true });
