// The battery's runner: starts the real CLI (as a user would) with a time limit, measures its peak
// memory, and holds every refusal to the project's rule: one line `resnet: error: ...`, exit 2, no
// stack trace, no hang, no huge allocation.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { CLI, CLI_ENV, hasStack } from '../cli/helpers.js';

const PROBE = fileURLToPath(new URL('./rss-probe.js', import.meta.url));

export interface Run {
  args: string[];
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Peak resident memory in MiB (NaN when the process was killed before it could tell). */
  rssMb: number;
  timedOut: boolean;
}

export interface RunOptions {
  env?: Record<string, string>;
  timeoutMs?: number;
  /** Run under `ulimit -v` of this many KiB (through bash). */
  virtualMemoryKb?: number;
  cwd?: string;
}

/** Runs `resnet ...args`; never rejects. */
export function resnet(args: string[], options: RunOptions = {}): Promise<Run> {
  const dir = mkdtempSync(join(tmpdir(), 'resnet-battery-rss-'));
  const rssFile = join(dir, 'rss');
  const node = [process.execPath, '--import', PROBE, CLI, ...args];
  const [command, argv] = options.virtualMemoryKb
    ? ['bash', ['-c', `ulimit -v ${options.virtualMemoryKb} && exec "$@"`, 'bash', ...node]]
    : [node[0], node.slice(1)];
  return new Promise((resolve) => {
    const child = spawn(command, argv, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...CLI_ENV, RESNET_TEST_RSS_FILE: rssFile, ...options.env }, // CLI_ENV: a temporary decoded-data cache
      cwd: options.cwd,
    });
    let [stdout, stderr, timedOut] = ['', '', false];
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, options.timeoutMs ?? 300_000);
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      const rssMb = existsSync(rssFile) ? Number(readFileSync(rssFile, 'utf8')) / 1024 : NaN;
      rmSync(dir, { recursive: true, force: true });
      resolve({ args, status, signal, stdout, stderr, rssMb, timedOut });
    });
  });
}

/** Peak memory a refused command may reach: Node + TensorFlow.js + the engines start at 200-400 MiB. */
export const REFUSAL_RSS_MB = 1024;

/** Asserts the project's rule for a refused input: one `resnet: error:` line matching `message`, exit 2. */
export function assertRefused(r: Run, message: RegExp, maxRssMb = REFUSAL_RSS_MB): void {
  const what = `resnet ${r.args.map((a) => (a.length > 60 ? a.slice(0, 60) + '...' : a)).join(' ')}`;
  assert.ok(!r.timedOut, `${what}: still running after the time limit (a hang)`);
  assert.equal(r.signal, null, `${what}: killed by ${r.signal}\n${r.stderr}`);
  assert.equal(r.status, 2, `${what}: exit ${r.status}\n${r.stderr}`);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `${what}: ${lines.length} lines on stderr:\n${r.stderr.slice(0, 2000)}`);
  assert.match(lines[0], /^resnet: error: \S/, what);
  assert.match(lines[0], message, what);
  assert.ok(!hasStack(r.stderr), `${what}: stack trace`);
  if (!Number.isNaN(r.rssMb)) assert.ok(r.rssMb < maxRssMb, `${what}: peak memory ${r.rssMb.toFixed(0)} MiB (limit ${maxRssMb})`);
}

/** Runs `tasks` with at most `limit` at a time (the machine has 2 cores). */
export async function inTurns<T>(tasks: (() => Promise<T>)[], limit = 3): Promise<T[]> {
  const results: T[] = new Array(tasks.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, tasks.length) }, async () => {
      while (next < tasks.length) {
        const i = next++;
        results[i] = await tasks[i]();
      }
    }),
  );
  return results;
}

/** Runs every case (args and the message expected) and checks each refusal. */
export async function assertAllRefused(cases: [string[], RegExp][], options: RunOptions = {}): Promise<void> {
  const runs = await inTurns(cases.map(([args]) => () => resnet(args, options)));
  const failures: string[] = [];
  runs.forEach((r, i) => {
    try {
      assertRefused(r, cases[i][1]);
    } catch (error) {
      failures.push(`${(error as Error).message.split('\n')[0]}\n  stderr: ${runs[i].stderr.trim().split('\n').slice(0, 3).join('\n  ')}`);
    }
  });
  assert.equal(failures.length, 0, `${failures.length} of ${cases.length} cases failed:\n\n${failures.join('\n\n')}`);
}
