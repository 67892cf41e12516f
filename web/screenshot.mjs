#!/usr/bin/env node
// Makes the README's screenshot (docs/figures/web-page.png): the page with MODEL_DIR served, three
// SIGNS test photos classified and explained, and two classes fine-tuned for a few epochs.
// Usage: node web/screenshot.mjs MODEL_DIR [OUT.png]   (after npm run build)
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { startServer } from '../dist/src/serve/server.js';
import { launchChromium } from '../dist/test/web/chromium.js';

const [modelDir, out = 'docs/figures/web-page.png'] = process.argv.slice(2);
const signs = '../shared/data/signs';
const pick = (split, cls, from, n) => readdirSync(join(signs, split, cls)).sort().slice(from, from + n).map((f) => join(signs, split, cls, f));

const server = await startServer({ models: [modelDir], port: 0, host: '127.0.0.1' });
const browser = await launchChromium();
const page = await browser.context.newPage();
await page.setViewportSize({ width: 1280, height: 1180 });
await page.goto(server.url);
await page.evaluate(() => window.resnetPage.ready);
await page.getByTestId('image-input').setInputFiles([...pick('test', '5', 0, 1), ...pick('test', '2', 0, 1), ...pick('test', '3', 1, 1)]);
await page.waitForFunction(() => document.querySelectorAll('[data-testid=prediction]').length === 3, null, { timeout: 300_000 });
for (const [name, cls] of [['thumbs up', '1'], ['open hand', '5']]) {
  await page.getByTestId('class-add').click();
  await page.getByTestId('class-name').last().fill(name);
  await page.getByTestId('class-images').last().setInputFiles(pick('train', cls, 0, 12));
  await page.waitForFunction(() => [...document.querySelectorAll('[data-testid=class-count]')].pop()?.textContent === '12 photos', null, { timeout: 300_000 });
}
await page.fill('#epochs', '6');
await page.getByTestId('train-start').click();
await page.waitForFunction(() => /^(Done|Stopped)/.test(document.getElementById('train-status').textContent ?? ''), null, { timeout: 600_000 });
await page.evaluate(() => { document.activeElement?.blur(); window.scrollTo(0, 0); });
const png = await page.screenshot({ fullPage: false });
await sharp(png).resize({ width: 1000 }).png({ palette: true, quality: 90, compressionLevel: 9 }).toFile(out);
console.log(`web/screenshot.mjs: ${out}`);
await browser.close();
await server.close();
