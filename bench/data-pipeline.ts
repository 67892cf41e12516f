// The data pipeline's figures (docs/benchmarks.md, "Session 5: data"), each in fresh processes so
// that peak memory is the measurement's own. Prints one JSON line per command.
//
//   node dist/bench/data-pipeline.js load   [--data DIR] [--pairs 2] [--baseline DIST | --sharp-baseline]
//       Decoding a folder with no cache (cold) and reading it back from the cache (warm): seconds and
//       peak RSS. --baseline DIST also times another build's loadDataset (e.g. a copy of an older
//       dist/), alternating with this one; --sharp-baseline times this build with RESNET_NATIVE_JPEG=0
//       (sharp decodes every photo, no libjpeg-turbo fast path).
//   node dist/bench/data-pipeline.js epoch  [--data DIR] [--limit 10000] [--model resnet20] [--batch-size 128] [--pairs 3]
//       Training images per second of `resnet bench` (random data, Keras's trainOnBatch) against a
//       training epoch of the real loop on the folder (augmentation on; the second epoch, after
//       warm-up), with the batches assembled by one worker thread and on the training thread
//       (--data-workers 1 and 0), alternating; medians and ratios.
//   node dist/bench/data-pipeline.js stream [--data DIR] [--limit 20000] [--image-size 64] [--max-memory 64] [--epochs 3]
//                                           [--memory-cap MB]
//       A data set larger than --max-memory trained from the cache file: peak RSS and RSS/tensors per epoch.
//       --memory-cap runs the training process in a memory cgroup (v1, /sys/fs/cgroup/memory; needs
//       root) limited to MB: the kernel kills it if it ever holds more, page cache included.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = join(ROOT, 'dist/src/cli/main.js');
const args = process.argv.slice(2);
const command = args[0];
const flag = (name: string, fallback: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const DATA = resolve(flag('data', join(ROOT, '../shared/data/cifar10/train')));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const round = (x: number, digits = 2) => Math.round(x * 10 ** digits) / 10 ** digits;

/**
 * Runs `node ...argv` under /usr/bin/time; returns stdout, the wall time and the peak RSS (MB).
 * With `cgroupProcs` (a memory cgroup's cgroup.procs file), the process joins that group first.
 */
function measured(argv: string[], env: NodeJS.ProcessEnv = process.env, cgroupProcs?: string): { stdout: string; seconds: number; peakMB: number } {
  const started = performance.now();
  const timed = ['/usr/bin/time', '-f', 'PEAK_RSS_KB %M', process.execPath, ...argv];
  const [command, ...rest] = cgroupProcs ? ['/bin/sh', '-c', 'echo $$ > "$0" && exec "$@"', cgroupProcs, ...timed] : timed;
  const r = spawnSync(command, rest, { encoding: 'utf8', env, maxBuffer: 1 << 26, cwd: ROOT });
  const seconds = (performance.now() - started) / 1000;
  if (r.status !== 0) throw new Error(`${argv.join(' ')} failed: ${r.stderr}`);
  const peak = /PEAK_RSS_KB (\d+)/.exec(r.stderr);
  return { stdout: r.stdout, seconds, peakMB: peak ? Number(peak[1]) / 1024 : NaN };
}

/** A script that loads DATA with `dist`'s loader and prints the load's own seconds and shape. */
function loadScript(dist: string, cacheDir: string | null): string[] {
  const options = cacheDir ? `{ cacheDir: ${JSON.stringify(cacheDir)} }` : '{}';
  const code = `
    const { loadDataset } = await import(${JSON.stringify(join(dist, 'src/data/node.js'))});
    const t = performance.now();
    const ds = await loadDataset(${JSON.stringify(DATA)}, ${options});
    console.log(JSON.stringify({ seconds: (performance.now() - t) / 1000, shape: ds.shape, bytes: ds.images.byteLength, type: ds.images.constructor.name }));`;
  return ['--input-type=module', '-e', code];
}

function load(): void {
  const pairs = Number(flag('pairs', '2'));
  const sharpBaseline = args.includes('--sharp-baseline');
  const baseline = sharpBaseline ? join(ROOT, 'dist') : args.includes('--baseline') ? resolve(flag('baseline', '')) : null;
  const baselineEnv = sharpBaseline ? { ...process.env, RESNET_NATIVE_JPEG: '0' } : process.env;
  const rows: Record<string, { seconds: number; peakMB: number }[]> = { cold: [], warm: [], baseline: [] };
  let shape: unknown;
  for (let p = 0; p < pairs; p++) {
    const cacheDir = mkdtempSync(join(tmpdir(), 'resnet-bench-cache-'));
    try {
      if (baseline) {
        const b = measured(loadScript(baseline, null), baselineEnv);
        rows.baseline.push({ seconds: JSON.parse(b.stdout).seconds, peakMB: b.peakMB });
      }
      for (const kind of ['cold', 'warm'] as const) {
        const r = measured(loadScript(join(ROOT, 'dist'), cacheDir));
        const out = JSON.parse(r.stdout);
        shape = out.shape;
        rows[kind].push({ seconds: out.seconds, peakMB: r.peakMB });
      }
    } finally {
      rmSync(cacheDir, { recursive: true, force: true });
    }
  }
  const summary = (kind: string) => (rows[kind].length ? { seconds: round(median(rows[kind].map((r) => r.seconds))), peak_rss_mb: Math.round(median(rows[kind].map((r) => r.peakMB))), runs: rows[kind] } : undefined);
  const result = { bench: 'data-load', data: DATA, shape, pairs, baseline_is: sharpBaseline ? 'this build, RESNET_NATIVE_JPEG=0' : baseline ?? undefined, baseline: baseline ? summary('baseline') : undefined, cold: summary('cold'), warm: summary('warm'), when: new Date().toISOString() };
  if (baseline) Object.assign(result, { ratio_baseline_over_cold_median_of_pairs: round(median(rows.baseline.map((r, i) => r.seconds / rows.cold[i].seconds))) });
  console.log(JSON.stringify(result));
}

function epoch(): void {
  const pairs = Number(flag('pairs', '3'));
  const limit = flag('limit', '10000');
  const model = flag('model', 'resnet20');
  const batch = flag('batch-size', '128');
  const cacheDir = mkdtempSync(join(tmpdir(), 'resnet-bench-cache-'));
  const env = { ...process.env, XDG_CACHE_HOME: cacheDir };
  const bench: number[] = [];
  const loop: Record<string, number[]> = { '1': [], '0': [] };
  let shape: number[] = [];
  try {
    for (let p = 0; p < pairs; p++) {
      const b = measured([CLI, 'bench', '--model', model, '--input', '32', '--classes', '10', '--batch-size', batch, '--steps', '20', '--json']);
      bench.push(JSON.parse(b.stdout).train_images_per_sec);
      for (const workers of ['1', '0']) {
        const out = join(cacheDir, `run-${p}-${workers}`);
        measured([
          CLI, 'train', '--data', DATA, '--limit', limit, '--model', model, '--batch-size', batch, '--epochs', '2', '--recipe', 'course',
          '--augment', 'shift=0.125,rotation=0,brightness=0,contrast=0,flip', '--val-split', '0', '--bn-recalibration', '0',
          '--data-workers', workers, '--out', out,
        ], env);
        const history = readFileSync(join(out, 'history.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
        shape = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')).data.inputShape;
        loop[workers].push(Number(limit) / history[1].seconds);
      }
    }
  } finally {
    rmSync(cacheDir, { recursive: true, force: true });
  }
  const [benchMedian, workerMedian, inlineMedian] = [median(bench), median(loop['1']), median(loop['0'])];
  console.log(JSON.stringify({
    bench: 'epoch-efficiency', model, input: shape, batch_size: Number(batch), images_per_epoch: Number(limit), pairs,
    augment: 'shift 0.125 + flip', resnet_bench_train_images_per_sec: round(benchMedian), epoch_images_per_sec_worker: round(workerMedian),
    epoch_images_per_sec_training_thread: round(inlineMedian), ratio_worker: round(workerMedian / benchMedian, 3), ratio_training_thread: round(inlineMedian / benchMedian, 3),
    runs: { bench, worker: loop['1'].map((x) => round(x)), training_thread: loop['0'].map((x) => round(x)) }, when: new Date().toISOString(),
  }));
}

/** A fresh memory cgroup (v1) limited to `mb` megabytes: its directory. */
function memoryCgroup(mb: number): string {
  const dir = `/sys/fs/cgroup/memory/resnet-bench-${process.pid}`;
  try {
    mkdirSync(dir);
    writeFileSync(join(dir, 'memory.limit_in_bytes'), String(mb * 2 ** 20));
  } catch (e) {
    console.error(`data-pipeline: error: --memory-cap needs a writable cgroup v1 memory controller (root): ${(e as Error).message}`);
    process.exit(2);
  }
  return dir;
}

function stream(): void {
  const capMB = args.includes('--memory-cap') ? Number(flag('memory-cap', '')) : 0;
  if (!(Number.isInteger(capMB) && capMB >= 0)) {
    console.error(`data-pipeline: error: --memory-cap takes a whole number of megabytes; got '${flag('memory-cap', '')}'`);
    process.exit(2);
  }
  const cgroup = capMB > 0 ? memoryCgroup(capMB) : null;
  const cacheDir = mkdtempSync(join(tmpdir(), 'resnet-bench-cache-'));
  const [limit, size, maxMemory, epochs] = [flag('limit', '20000'), flag('image-size', '64'), flag('max-memory', '64'), flag('epochs', '3')];
  const code = `
    const { trainRun } = await import(${JSON.stringify(join(ROOT, 'dist/src/train/run.js'))});
    const { defaultOptions } = await import(${JSON.stringify(join(ROOT, 'dist/src/train/options.js'))});
    const tf = await import(${JSON.stringify(join(ROOT, 'dist/src/tf.js'))});
    const epochs = [];
    const lines = [];
    const progress = { startEpoch() {}, step() {}, log: (l) => lines.push(l),
      endEpoch(r) { epochs.push({ epoch: r.epoch, seconds: Math.round(r.seconds), rss_mb: Math.round(process.memoryUsage().rss / 2 ** 20), tensors: tf.memory().numTensors }); } };
    const o = { ...defaultOptions(${JSON.stringify(DATA)}, 'course'), model: 'tiny-resnet', epochs: ${epochs}, limit: ${limit}, imageSize: ${size}, batchSize: 64,
      valSplit: 0.1, maxMemory: ${maxMemory}, cacheDir: ${JSON.stringify(cacheDir)}, out: ${JSON.stringify(join(cacheDir, 'run'))} };
    await trainRun(o, { progress });
    console.log(JSON.stringify({ epochs, lines }));`;
  try {
    const r = measured(['--input-type=module', '-e', code], process.env, cgroup ? join(cgroup, 'cgroup.procs') : undefined);
    const out = JSON.parse(r.stdout);
    const decodedMB = (Number(limit) * Number(size) ** 2 * 3) / 2 ** 20;
    const cgroupFigures = cgroup ? {
      memory_cap_mb: capMB,
      cgroup_peak_mb: Math.round(Number(readFileSync(join(cgroup, 'memory.max_usage_in_bytes'), 'utf8')) / 2 ** 20),
      cgroup_limit_hits: Number(readFileSync(join(cgroup, 'memory.failcnt'), 'utf8')),
    } : {};
    console.log(JSON.stringify({
      bench: 'stream-from-disk', data: DATA, images: Number(limit), image_size: Number(size), decoded_mb: Math.round(decodedMB), max_memory_mb: Number(maxMemory),
      peak_rss_mb: Math.round(r.peakMB), ...cgroupFigures, wall_seconds: Math.round(r.seconds), epochs: out.epochs, streamed: out.lines.some((l: string) => /streamed/.test(l)), lines: out.lines,
      when: new Date().toISOString(),
    }));
  } finally {
    rmSync(cacheDir, { recursive: true, force: true });
    if (cgroup) rmdirSync(cgroup);
  }
}

if (command === 'load') load();
else if (command === 'epoch') epoch();
else if (command === 'stream') stream();
else {
  console.error('usage: node dist/bench/data-pipeline.js load|epoch|stream [options] (see the header of bench/data-pipeline.ts)');
  process.exit(2);
}
