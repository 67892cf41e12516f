// The web page in a real browser (Debian's Chromium, headless): `resnet serve` of a small model
// trained here on SIGNS; test photos classified in the page as `resnet predict` classifies them
// (same top-1, probabilities within 1e-3), with heatmaps; the engine falls back from WebGPU cleanly
// and can be switched; fine-tuning in the page lowers the loss; the downloaded model folder loads in
// Node (and back in the page) with the same predictions; a plain static host serves the bundle; no
// console errors. Screenshots go to test-artifacts/web/. Without Chromium the suite skips, unless
// RESNET_REQUIRE_BROWSER=1 (CI), where it fails.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { unzipSync } from 'fflate';
import type { Page } from 'playwright-core';
import { CLI, runCli, tempDir } from '../cli/helpers.js';
import { fileInside } from '../../src/serve/files.js';
import { BROWSER_REQUIRED, chromiumMissing, launchChromium, type Browser } from './chromium.js';

const REPO = resolve(fileURLToPath(new URL('../../../', import.meta.url)));
const SIGNS = resolve(REPO, '../shared/data/signs');
const ARTIFACTS = join(REPO, 'test-artifacts', 'web');
/** Probabilities of the page and of `resnet predict` agree within this (different engines: wasm in the page). */
const TOLERANCE = 1e-3;

const missing = chromiumMissing();
const skip = missing !== '' && !BROWSER_REQUIRED ? missing : false;

interface PagePrediction {
  image: string;
  top: string;
  probabilities: { class: string; probability: number }[];
}

interface CliPrediction {
  image: string;
  top: { class: string; probability: number }[];
}

/** Two test photos of every SIGNS class. */
function testPhotos(perClass = 2): string[] {
  return ['0', '1', '2', '3', '4', '5'].flatMap((c) =>
    readdirSync(join(SIGNS, 'test', c))
      .sort()
      .slice(0, perClass)
      .map((f) => join(SIGNS, 'test', c, f)),
  );
}

function trainPhotos(cls: string, count: number): string[] {
  return readdirSync(join(SIGNS, 'train', cls))
    .sort()
    .slice(0, count)
    .map((f) => join(SIGNS, 'train', cls, f));
}

function predictCli(model: string, images: string[]): CliPrediction[] {
  const r = runCli('predict', '--model', model, '--json', '--top', '5', ...images);
  assert.equal(r.status, 0, r.stderr);
  return (JSON.parse(r.stdout) as { predictions: CliPrediction[] }).predictions;
}

async function pagePredictions(page: Page): Promise<PagePrediction[]> {
  return page.evaluate(() =>
    [...document.querySelectorAll<HTMLElement>('#results li.result[data-image]')].map((li) => ({
      image: li.dataset.image!,
      top: li.querySelector('[data-testid=prediction]')!.textContent!,
      probabilities: [...li.querySelectorAll<HTMLElement>('[data-testid=probabilities] li')].map((p) => ({ class: p.dataset.class!, probability: Number(p.dataset.probability) })),
    })),
  );
}

/** Clears the results, classifies `images` in the page and returns the page's predictions. */
async function classifyInPage(page: Page, images: string[]): Promise<PagePrediction[]> {
  await page.click('#results-clear');
  await page.getByTestId('image-input').setInputFiles(images);
  await page.waitForFunction((n) => document.querySelectorAll('#results [data-testid=prediction]').length === n, images.length, { timeout: 120_000 });
  return pagePredictions(page);
}

function assertSamePredictions(inPage: PagePrediction[], cli: CliPrediction[], images: string[]): void {
  assert.equal(inPage.length, images.length);
  for (const [i, image] of images.entries()) {
    const name = image.split('/').pop()!;
    const p = inPage.find((x) => x.image === name)!;
    const c = cli[i];
    assert.ok(p, `no result for ${name} in the page`);
    assert.equal(p.top, c.top[0].class, `${name}: top-1 in the page ${p.top}, resnet predict ${c.top[0].class}`);
    for (const expected of c.top) {
      const got = p.probabilities.find((x) => x.class === expected.class);
      assert.ok(got, `${name}: class ${expected.class} missing from the page's top ${p.probabilities.length}`);
      assert.ok(Math.abs(got.probability - expected.probability) <= TOLERANCE, `${name} ${expected.class}: page ${got.probability} vs predict ${expected.probability}`);
    }
  }
}

/** `resnet serve ARGS --port 0`; resolves with its URL once it listens. */
function serve(...args: string[]): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [CLI, 'serve', ...args, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolveUrl, reject) => {
    let err = '';
    child.stderr!.on('data', (d) => (err += d));
    child.on('exit', (code) => reject(new Error(`resnet serve exited ${code}: ${err}`)));
    child.stdout!.on('data', (d) => {
      const m = String(d).match(/http:\/\/[^\s]+\//);
      if (m) resolveUrl({ url: m[0], child });
    });
  });
}

describe('the web page in headless Chromium', { skip, timeout: 600_000 }, () => {
  let root = '';
  let run = '';
  let server: { url: string; child: ChildProcess };
  let browser: Browser;
  let page: Page;
  const consoleErrors: string[] = [];
  let fineTuned = '';

  before(async () => {
    assert.equal(missing, '', `${missing}: the browser tests are required here (RESNET_REQUIRE_BROWSER=1)`);
    mkdirSync(ARTIFACTS, { recursive: true });
    root = tempDir('resnet-web-');
    run = join(root, 'signs-tiny');
    const trained = runCli('train', '--data', join(SIGNS, 'train'), '--model', 'tiny-resnet', '--epochs', '2', '--limit', '240', '--batch-size', '16', '--lr', '0.01', '--out', run);
    assert.equal(trained.status, 0, trained.stderr);
    server = await serve(run);
    // A fake camera (a test pattern) stands in for a webcam.
    browser = await launchChromium(['--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream']);
    page = await browser.context.newPage();
    page.on('console', (m) => m.type() === 'error' && consoleErrors.push(m.text()));
    page.on('pageerror', (e) => consoleErrors.push(`page error: ${e.message}`));
    await page.goto(server.url);
    await page.evaluate(() => window.resnetPage.ready);
  });

  after(async () => {
    await browser?.close();
    server?.child.kill();
  });

  test('the page opens with the one served model loaded; WebGPU is skipped with its reason; wasm has threads', async () => {
    assert.match((await page.textContent('#model-status')) ?? '', /tiny-resnet, 6 classes \(0, 1, 2, 3, 4, 5\), input 64×64×3/);
    assert.equal(await page.getByTestId('model-select').inputValue(), 'models/signs-tiny/model.json');
    const engine = await page.getByTestId('engine').inputValue();
    const state = await page.evaluate(() => ({
      isolated: crossOriginIsolated,
      backend: window.resnetPage.tf.getBackend(),
      options: [...document.querySelectorAll<HTMLOptionElement>('[data-testid=engine] option')].map((o) => [o.value, o.disabled, o.textContent]),
    }));
    assert.equal(state.backend, engine);
    assert.equal(state.isolated, true, 'COOP/COEP make the page cross-origin isolated (SharedArrayBuffer for wasm threads)');
    const webgpu = state.options.find((o) => o[0] === 'webgpu')!;
    // No GPU on this machine: WebGPU is listed as unavailable and 'auto' went on to the next engine.
    if (webgpu[1]) assert.notEqual(engine, 'webgpu');
    assert.match(String(webgpu[2]), webgpu[1] ? /unavailable: .*(WebGPU|adapter)/ : /webgpu/);
    assert.ok(['webgpu', 'webgl', 'wasm'].includes(engine), engine);
    if (engine === 'wasm') {
      const threads = await page.evaluate(async () => [await window.resnetPage.wasmThreads(), navigator.hardwareConcurrency]);
      assert.equal(threads[0], threads[1], 'one wasm thread per logical core (TF.js alone would allow half)');
      assert.match((await page.textContent('#engine-note')) ?? '', new RegExp(`running on wasm · ${threads[0]} thread`));
    }
  });

  test('SIGNS test photos: same top-1 as resnet predict, probabilities within 1e-3, a heatmap each', async () => {
    const images = testPhotos();
    const inPage = await classifyInPage(page, images);
    assertSamePredictions(inPage, predictCli(run, images), images);
    const heatmaps = await page.evaluate(() =>
      [...document.querySelectorAll<HTMLCanvasElement>('[data-testid=heatmap]')].map((c) => {
        const data = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
        const values = new Set<number>();
        for (let i = 0; i < data.length; i += 4 * 97) values.add(data[i] * 65536 + data[i + 1] * 256 + data[i + 2]);
        return { width: c.width, distinct: values.size };
      }),
    );
    assert.equal(heatmaps.length, images.length);
    assert.ok(heatmaps.every((h) => h.width > 0 && h.distinct > 10), JSON.stringify(heatmaps.slice(0, 3)));
    await page.screenshot({ path: join(ARTIFACTS, 'classify.png'), fullPage: true });
  });

  test('memory stays flat over repeated classification (tf.memory())', async () => {
    const images = testPhotos(1);
    await classifyInPage(page, images);
    const first = await page.evaluate(() => window.resnetPage.tf.memory().numTensors);
    await classifyInPage(page, images);
    await classifyInPage(page, images);
    assert.equal(await page.evaluate(() => window.resnetPage.tf.memory().numTensors), first);
  });

  test('the engine can be switched (cpu) and gives the same predictions', async () => {
    const images = testPhotos(1).slice(0, 3);
    const before = await page.getByTestId('engine').inputValue();
    await page.getByTestId('engine').selectOption('cpu');
    await page.waitForFunction(() => window.resnetPage.engine() === 'cpu');
    const onCpu = await classifyInPage(page, images);
    assert.ok((await page.textContent('[data-testid=timing]'))?.includes('on cpu'));
    assertSamePredictions(onCpu, predictCli(run, images), images);
    await page.getByTestId('engine').selectOption(before);
    await page.waitForFunction((e) => window.resnetPage.engine() === e, before);
  });

  test('fine-tuning in the page: two classes of photos; Stop stops; a few epochs lower the loss', async () => {
    await page.getByTestId('class-add').click();
    await page.getByTestId('class-add').click();
    const names = page.getByTestId('class-name');
    await names.nth(0).fill('fist');
    await names.nth(1).fill('palm');
    const inputs = page.getByTestId('class-images');
    await inputs.nth(0).setInputFiles(trainPhotos('0', 10));
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=class-count]')[0]?.textContent === '10 photos');
    await inputs.nth(1).setInputFiles(trainPhotos('5', 10));
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=class-count]')[1]?.textContent === '10 photos');
    // Stop: a long training stops after the current step.
    await page.fill('#epochs', '200');
    await page.getByTestId('train-start').click();
    await page.waitForFunction(() => document.querySelector<HTMLProgressElement>('[data-testid=train-progress]')!.value >= 2);
    await page.click('#train-stop');
    await page.waitForFunction(() => /^(Done|Stopped)/.test(document.getElementById('train-status')!.textContent ?? ''), null, { timeout: 180_000 });
    assert.match((await page.textContent('#train-status')) ?? '', /^Stopped after \d+ epochs/);
    assert.ok(await page.evaluate(() => {
      const p = document.querySelector<HTMLProgressElement>('[data-testid=train-progress]')!;
      return p.value < p.max;
    }));

    await page.fill('#epochs', '8');
    await page.selectOption('#lr', '0.01');
    await page.getByTestId('train-start').click();
    await page.waitForFunction(() => /^(Done|Stopped)/.test(document.getElementById('train-status')!.textContent ?? ''), null, { timeout: 180_000 });
    const losses = JSON.parse((await page.getByTestId('train-loss').getAttribute('data-losses')) ?? '[]') as number[];
    assert.equal(losses.length, 8);
    assert.ok(losses[losses.length - 1] < losses[0], `the loss falls: ${losses.map((l) => l.toFixed(4)).join(' ')}`);
    const progress = await page.evaluate(() => {
      const p = document.querySelector<HTMLProgressElement>('[data-testid=train-progress]')!;
      return [p.value, p.max];
    });
    assert.equal(progress[0], progress[1]);
    assert.match((await page.textContent('#train-status')) ?? '', /held-out accuracy [\d.]+% on 4 photos/);
    await page.screenshot({ path: join(ARTIFACTS, 'fine-tune.png'), fullPage: true });
  });

  test('the downloaded model folder: resnet predict and evaluate read it, with the page’s predictions', async () => {
    const images = [...trainPhotos('0', 12).slice(10), ...trainPhotos('5', 12).slice(10)];
    await page.click('#use-model');
    const inPage = await classifyInPage(page, images);
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('download-model').click()]);
    const zipPath = join(root, download.suggestedFilename());
    await download.saveAs(zipPath);
    const entries = unzipSync(new Uint8Array(readFileSync(zipPath)));
    const folder = Object.keys(entries).find((n) => n.endsWith('/model.json'))!.split('/')[0];
    fineTuned = join(root, folder);
    mkdirSync(fineTuned);
    for (const [name, bytes] of Object.entries(entries)) if (!name.endsWith('/')) writeFileSync(join(root, name), bytes);
    assert.deepEqual(Object.keys(entries).sort(), [`${folder}/labels.txt`, `${folder}/model.json`, `${folder}/weights.bin`]);
    const metadata = JSON.parse(readFileSync(join(fineTuned, 'model.json'), 'utf8')).userDefinedMetadata;
    assert.deepEqual(metadata, { model: 'tiny-resnet', classNames: ['fist', 'palm'], inputShape: [64, 64, 3], epoch: 8 });
    assertSamePredictions(inPage, predictCli(fineTuned, images), images);
    const data = join(root, 'eval');
    for (const [cls, src] of [['fist', '0'], ['palm', '5']]) {
      mkdirSync(join(data, cls), { recursive: true });
      for (const f of trainPhotos(src, 14).slice(10)) cpSync(f, join(data, cls, f.split('/').pop()!));
    }
    const evaluated = runCli('evaluate', '--model', fineTuned, '--data', data, '--json', '--out', join(root, 'eval-out'));
    assert.equal(evaluated.status, 0, evaluated.stderr);
    assert.equal(JSON.parse(evaluated.stdout).images, 8);

    // And the .zip loads back into the page (a model from local files), predicting the same.
    await page.locator('#model-files').setInputFiles(zipPath);
    await page.waitForFunction(() => {
      const status = document.getElementById('model-status')!;
      return /fist, palm/.test(status.textContent ?? '') || status.classList.contains('error');
    });
    assert.match((await page.textContent('#model-status')) ?? '', /\.zip: tiny-resnet, 2 classes \(fist, palm\)/);
    assertSamePredictions(await classifyInPage(page, images), predictCli(fineTuned, images), images);
  });

  test('the static bundle from a plain static host (no COOP/COEP) loads a model by URL', async () => {
    const site = join(root, 'site');
    cpSync(join(REPO, 'dist', 'app'), site, { recursive: true });
    cpSync(fineTuned, join(site, 'my-model'), { recursive: true });
    const realSite = resolve(site);
    const plain: Server = createServer(async (req, res) => {
      const path = (req.url ?? '/').split('?')[0].slice(1) || 'index.html';
      const file = await fileInside(realSite, path);
      if (!file) return res.writeHead(404).end();
      const type = file.endsWith('.js') ? 'text/javascript' : file.endsWith('.html') ? 'text/html' : file.endsWith('.wasm') ? 'application/wasm' : file.endsWith('.css') ? 'text/css' : 'application/octet-stream';
      res.writeHead(200, { 'Content-Type': type }).end(readFileSync(file));
    });
    await new Promise<void>((r) => plain.listen(0, '127.0.0.1', r));
    const other = await browser.context.newPage();
    other.on('console', (m) => m.type() === 'error' && consoleErrors.push(`static host: ${m.text()}`));
    other.on('pageerror', (e) => consoleErrors.push(`static host page error: ${e.message}`));
    try {
      await other.goto(`http://127.0.0.1:${(plain.address() as AddressInfo).port}/?model=my-model/model.json`);
      await other.evaluate(() => window.resnetPage.ready);
      assert.equal(await other.evaluate(() => crossOriginIsolated), false);
      const images = [...trainPhotos('0', 13).slice(12), ...trainPhotos('5', 13).slice(12)];
      assertSamePredictions(await classifyInPage(other, images), predictCli(fineTuned, images), images);
    } finally {
      await other.close();
      plain.close();
    }
  });

  test('keyboard: Tab reaches the engine, the model choice, the photo input and Add a class; Enter adds one', async () => {
    // Start from the top of the page (the title), as after loading it.
    await page.evaluate(() => {
      const title = document.querySelector('h1')!;
      title.tabIndex = -1;
      title.focus();
    });
    const reached: string[] = [];
    for (let i = 0; i < 30; i++) {
      await page.keyboard.press('Tab');
      const id = await page.evaluate(() => (document.activeElement as HTMLElement | null)?.dataset.testid ?? document.activeElement?.id ?? '');
      reached.push(id);
      if (id === 'class-add') break;
    }
    for (const hook of ['engine', 'model-select', 'image-input', 'class-add']) assert.ok(reached.includes(hook), `Tab order ${reached.join(' ')} misses ${hook}`);
    const before = await page.getByTestId('class').count();
    await page.keyboard.press('Enter');
    assert.equal(await page.getByTestId('class').count(), before + 1);
    assert.equal(await page.evaluate(() => (document.activeElement as HTMLElement).dataset.testid), 'class-name', 'focus moves to the new class name');
  });

  test('webcam (a fake camera): a frame is classified, and another becomes a class photo', async () => {
    await page.click('#results-clear');
    await page.click('#camera-toggle');
    await page.waitForFunction(() => {
      const ready = (document.getElementById('camera') as HTMLVideoElement).readyState >= 2 && !(document.getElementById('camera-classify') as HTMLButtonElement).disabled;
      return ready || document.getElementById('model-status')!.classList.contains('error');
    });
    assert.doesNotMatch((await page.textContent('#model-status')) ?? '', /webcam did not start/);
    await page.click('#camera-classify');
    await page.waitForFunction(() => document.querySelectorAll('#results [data-testid=prediction]').length === 1);
    assert.equal(await page.getByTestId('heatmap').count(), 1);
    const lastClass = page.getByTestId('class').last();
    await lastClass.locator('.capture').click();
    await page.waitForFunction(() => [...document.querySelectorAll('[data-testid=class-count]')].pop()?.textContent === '1 photo');
    await page.click('#camera-toggle');
  });

  test('no errors in the browser console', () => {
    assert.deepEqual(consoleErrors, []);
  });
});
