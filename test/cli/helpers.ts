// Shared by the trainer's tests: tiny image-folder fixtures and a runner for the real CLI.
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';

export const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

/** The CLI runs of the tests keep their decoded-data cache in a temporary folder, not in ~/.cache. */
export const CLI_ENV = { ...process.env, XDG_CACHE_HOME: mkdtempSync(join(tmpdir(), 'resnet-cache-')) };

/** Runs `node dist/src/cli/main.js ...args` and returns its status and output. */
export function runCli(...args: string[]): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 120_000, env: CLI_ENV });
}

export function tempDir(prefix = 'resnet-train-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Colour of each fixture class: the dominant channel is the class, so a tiny model learns it fast. */
export const FIXTURE_CLASSES = ['blue', 'green', 'red'] as const;
const DOMINANT: Record<string, number> = { red: 0, green: 1, blue: 2 };

/** 8x8 RGB pixels of image `i` of class `name`: the class channel bright, the others dim and textured. */
export function fixturePixels(name: string, i: number, size = 8): Buffer {
  const pixels = Buffer.alloc(size * size * 3);
  const main = DOMINANT[name];
  for (let p = 0; p < size * size; p++) {
    pixels[p * 3 + main] = 180 + ((i * 17) % 60);
    pixels[p * 3 + ((main + 1) % 3)] = (p * 7 + i * 13) % 70;
    pixels[p * 3 + ((main + 2) % 3)] = (p * 3 + i * 29) % 50;
  }
  return pixels;
}

/** Writes `perClass` PNGs of 8x8 into root/<class>/<i>.png for each fixture class; returns root. */
export async function writeImageFolder(root: string, perClass = 4, size = 8): Promise<string> {
  for (const name of FIXTURE_CLASSES) {
    mkdirSync(join(root, name), { recursive: true });
    for (let i = 0; i < perClass; i++) {
      await sharp(fixturePixels(name, i, size), { raw: { width: size, height: size, channels: 3 } })
        .png()
        .toFile(join(root, name, `${i}.png`));
    }
  }
  return root;
}

/** No line of stderr looks like a stack frame. */
export function hasStack(stderr: string): boolean {
  return /^\s+at /m.test(stderr);
}

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Like runCli but asynchronous, so that independent invocations can overlap. */
export function runCliAsync(...args: string[]): Promise<CliResult> {
  return runCliWithin(undefined, ...args);
}

/** runCliAsync killed after `timeoutMs` (undefined: no limit). */
export function runCliWithin(timeoutMs: number | undefined, ...args: string[]): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: CLI_ENV, timeout: timeoutMs });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

/** Runs `tasks` with at most `limit` of them at a time. */
export async function inBatches<T>(tasks: (() => Promise<T>)[], limit = 4): Promise<T[]> {
  const results: T[] = new Array(tasks.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < tasks.length) {
        const i = next++;
        results[i] = await tasks[i]();
      }
    }),
  );
  return results;
}
