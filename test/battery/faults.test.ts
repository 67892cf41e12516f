// Battery: faults while training. A kill at every point of the run-folder protocol, two trainings
// into one folder, a stale lock, a full disk (injected, and a real tiny tmpfs where mounting is
// allowed), a read-only model folder, divergence. After each, nothing saved is lost and the run
// resumes (or, before config.json exists, starts again) and ends complete and consistent.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { CLI, tempDir, writeImageFolder } from '../cli/helpers.js';
import { loadModelFolder } from '../../src/train/checkpoint.js';
import { assertRefused, inTurns, resnet, type Run } from './support.js';

const TRAIN = ['--model', 'tiny-resnet', '--batch-size', '4', '--lr', '0.01', '--val-split', '0.25', '--backend', 'cpu', '--bn-recalibration', '0'];
let root = '';
let data = '';

const trainArgs = (out: string, epochs = 2) => ['train', '--data', data, '--epochs', String(epochs), '--out', out, ...TRAIN];
const json = (path: string) => JSON.parse(readFileSync(path, 'utf8'));

/** The run in `out` finished `epochs` epochs and every file agrees with last/state.json. */
async function assertComplete(out: string, epochs: number): Promise<void> {
  const last = json(join(out, 'last', 'state.json'));
  assert.equal(last.epoch, epochs, `${out}: last/ holds epoch ${last.epoch}`);
  const best = json(join(out, 'best', 'state.json'));
  assert.equal(best.epoch, last.bestEpoch, `${out}: best/ holds epoch ${best.epoch}, last/ names ${last.bestEpoch}`);
  const history = readFileSync(join(out, 'history.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(history.map((h) => h.epoch), Array.from({ length: epochs }, (_, i) => i + 1));
  assert.deepEqual(readFileSync(join(out, 'weights.bin')), readFileSync(join(out, 'best', 'weights.bin')));
  assert.deepEqual(json(join(out, 'model.json')), json(join(out, 'best', 'model.json')));
  const leftovers = readdirSync(out).filter((f) => /\.(tmp|old|stale)-\d+$/.test(f) || f === '.lock');
  assert.deepEqual(leftovers, [], `${out}: leftovers`);
  const { model } = await loadModelFolder(out);
  model.dispose();
}

before(async () => {
  root = tempDir('resnet-battery-faults-');
  data = await writeImageFolder(join(root, 'data'), 4);
});

describe('a kill at any point of a run leaves a run that resumes or restarts', () => {
  // Points named by src/io/atomic.ts, src/train/run.ts and src/train/run-folder.ts (#N: the N-th pass).
  const POINTS = [
    'locked', // the folder and its lock exist, no config.json
    'file-written:config.json', // config.json's temporary written, not renamed
    'config-written', // config.json only
    'folder-written:last', // last/'s temporary complete, not renamed
    'renamed-new:last', // first last/ written, best/ not yet (the order the issue found broken the other way)
    'renamed-old:last#2', // epoch 2: the old last/ renamed aside, the new one not yet in place
    'renamed-new:best', // best/ written, history.jsonl not yet
    'file-written:history.jsonl#2', // the last epoch saved, history.jsonl's temporary not renamed
    'published:model.json-removed', // publishing the best model: the old model.json removed
    'file-written:weights.bin', // ... weights.bin's temporary written
    'file-written:model.json', // ... model.json's temporary written
  ];

  test(`killed at each of ${POINTS.length} points, then resumed (or started again): complete and consistent`, async () => {
    const outcomes = await inTurns(
      POINTS.map((point, i) => async () => {
        const out = join(root, `kill-${i}`);
        const killed = await resnet(trainArgs(out), { env: { RESNET_TEST_FAULTS: `kill@${point}` } });
        assert.equal(killed.signal, 'SIGKILL', `${point}: the process was not killed there (exit ${killed.status}: ${killed.stderr})`);
        // A new run into the folder is refused once it holds a checkpoint; `--resume` continues it.
        const resumable = existsSync(join(out, 'config.json'));
        const again = resumable ? await resnet(['train', '--resume', out]) : await resnet(trainArgs(out));
        assert.equal(again.status, 0, `${point}: ${resumable ? 'resume' : 'restart'} failed: ${again.stderr}`);
        await assertComplete(out, 2);
        return { point, resumable, stdout: again.stdout };
      }),
    );
    // The kill between the first last/ and best/ writes: resumed from last/, best/ rebuilt from it.
    const between = outcomes.find((o) => o.point === 'renamed-new:last')!;
    assert.ok(between.resumable);
    assert.match(between.stdout, /resuming .* after epoch 1 of 2/);
    // Before config.json, the folder is started again (its stale lock taken over).
    assert.deepEqual(outcomes.filter((o) => !o.resumable).map((o) => o.point), ['locked', 'file-written:config.json']);
  });

  test('a kill while --resume rewrites config.json: the next --resume continues', async () => {
    const out = join(root, 'kill-resume');
    assert.equal((await resnet(trainArgs(out, 1))).status, 0);
    const killed = await resnet(['train', '--resume', out, '--epochs', '2'], { env: { RESNET_TEST_FAULTS: 'kill@file-written:config.json' } });
    assert.equal(killed.signal, 'SIGKILL');
    const again = await resnet(['train', '--resume', out, '--epochs', '2']);
    assert.equal(again.status, 0, again.stderr);
    await assertComplete(out, 2);
  });
});

describe('one training per run folder', () => {
  test('a second training (or --resume) into a busy folder stops at once; after a kill the stale lock is taken over', async () => {
    const out = join(root, 'busy');
    const first = spawn(process.execPath, [CLI, ...trainArgs(out, 100000)], { stdio: 'ignore' });
    const deadline = Date.now() + 240_000;
    while (!existsSync(join(out, 'last', 'state.json')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.ok(existsSync(join(out, 'last', 'state.json')), 'the first training wrote no checkpoint');
    const [second, resumed] = await Promise.all([resnet(trainArgs(out)), resnet(['train', '--resume', out])]);
    const busy = new RegExp(`is in use by another training \\(process ${first.pid}, since `);
    assertRefused(second, busy);
    assertRefused(resumed, busy);
    assert.equal(first.exitCode, null, 'the first training is still running');
    const closed = new Promise((r) => first.on('close', r));
    first.kill('SIGKILL');
    await closed;
    const lock = json(join(out, '.lock'));
    assert.equal(lock.pid, first.pid);
    const after = await resnet(['train', '--resume', out, '--epochs', String(json(join(out, 'last', 'state.json')).epoch + 1)]);
    assert.equal(after.status, 0, after.stderr);
    assert.match(after.stdout, new RegExp(`took over the lock of process ${first.pid}, which is no longer running`));
    assert.ok(!existsSync(join(out, '.lock')));
  });

  test('SIGTERM stops a run like Ctrl-C: status 143, how to resume, the lock released', async () => {
    const out = join(root, 'term');
    const child = spawn(process.execPath, [CLI, ...trainArgs(out, 100000)], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const closed = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
    const deadline = Date.now() + 240_000;
    while (!existsSync(join(out, 'last', 'state.json')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    child.kill('SIGTERM');
    assert.equal(await closed, 143);
    assert.equal(stderr.trim(), `resnet: terminated; continue with: resnet train --resume ${out}`);
    assert.ok(!existsSync(join(out, '.lock')));
  });

  test('locks left by a dead process, a reused pid, another host or damage', async () => {
    const base = join(root, 'locks-base');
    assert.equal((await resnet(trainArgs(base, 1))).status, 0);
    const withLock = (name: string, content: string) => {
      const dir = join(root, name);
      cpSync(base, dir, { recursive: true });
      writeFileSync(join(dir, '.lock'), content);
      return dir;
    };
    const owner = (o: object) => JSON.stringify({ pid: 1, started: '', host: hostname(), since: '2020-01-01T00:00:00.000Z', command: 'x', ...o });
    // pid 4194304 is above Linux's pid_max: never a live process.
    const dead = withLock('lock-dead', owner({ pid: 4194304 }));
    const reused = withLock('lock-reused', owner({ pid: 1, started: 'another-boot:1' }));
    const garbage = withLock('lock-garbage', 'not json');
    const remote = withLock('lock-remote', owner({ pid: 1, host: 'elsewhere.example' }));
    const alive = withLock('lock-alive', owner({ pid: 1, started: '' })); // init: alive, start unknown
    const [a, b, c, d, e] = await Promise.all([
      resnet(['train', '--resume', dead, '--epochs', '2']),
      resnet(['train', '--resume', reused, '--epochs', '2']),
      resnet(['train', '--resume', garbage, '--epochs', '2']),
      resnet(['train', '--resume', remote, '--epochs', '2']),
      resnet(['train', '--resume', alive, '--epochs', '2']),
    ]);
    for (const r of [a, b]) {
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /took over the lock of process \d+, which is no longer running/);
    }
    assert.equal(c.status, 0, c.stderr);
    assert.match(c.stdout, /removed a damaged lock file/);
    assertRefused(d, /is locked by process 1 on host elsewhere\.example .*; if no training runs there any more, delete .*\.lock/);
    assertRefused(e, /is in use by another training \(process 1, since 2020/);
    await assertComplete(dead, 2);
  });
});

describe('a full disk or a read-only folder while writing', () => {
  const base = () => join(root, 'disk-base');
  before(async () => {
    const r = await resnet(trainArgs(base(), 1));
    assert.equal(r.status, 0, r.stderr);
  });

  test('ENOSPC on each file of a checkpoint (injected): one line, the previous checkpoint intact, resume completes', async () => {
    const targets = ['last', 'optimizer.bin', 'weights.bin', 'history.jsonl', 'curves.svg', 'config.json'];
    const results = await inTurns(
      targets.map((target, i) => async () => {
        const out = join(root, `enospc-${i}`);
        cpSync(base(), out, { recursive: true });
        const before = readFileSync(join(out, 'last', 'weights.bin'));
        const full = await resnet(['train', '--resume', out, '--epochs', '2'], { env: { RESNET_TEST_FAULTS: `enospc@${target}` } });
        assertRefused(full, /cannot write .*: no space left on the disk \(ENOSPC\)/);
        const lastEpoch = json(join(out, 'last', 'state.json')).epoch;
        if (lastEpoch === 1) assert.deepEqual(readFileSync(join(out, 'last', 'weights.bin')), before, `${target}: last/ changed`);
        const again = await resnet(['train', '--resume', out, '--epochs', '2']);
        assert.equal(again.status, 0, `${target}: ${again.stderr}`);
        await assertComplete(out, 2);
        return full.stderr;
      }),
    );
    assert.match(results[0], /cannot write .*last: no space left on the disk \(ENOSPC\); its previous version is kept/);
    // best/ fails after last/ was written (a first epoch always improves): resume rebuilds best/ from last/.
    const noBest = join(root, 'enospc-best');
    assertRefused(await resnet(trainArgs(noBest, 1), { env: { RESNET_TEST_FAULTS: 'enospc@best' } }), /cannot write .*best: no space left on the disk/);
    assert.ok(!existsSync(join(noBest, 'best')) && existsSync(join(noBest, 'last', 'state.json')));
    const rebuilt = await resnet(['train', '--resume', noBest, '--epochs', '2']);
    assert.equal(rebuilt.status, 0, rebuilt.stderr);
    await assertComplete(noBest, 2);
    // A new run whose config.json cannot be written leaves no folder behind.
    const fresh = join(root, 'enospc-new');
    assertRefused(await resnet(trainArgs(fresh), { env: { RESNET_TEST_FAULTS: 'enospc@config.json' } }), /config\.json: no space left on the disk/);
    assert.ok(!existsSync(fresh));
  });

  test('a real full disk (a 1 MiB tmpfs), where this machine lets the test mount one', async (t) => {
    const mount = join(root, 'tmpfs');
    mkdirSync(mount);
    const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mount]);
    if (mounted.status !== 0) return t.skip(`cannot mount a tmpfs here (${String(mounted.stderr).trim() || 'not root'}); the injected ENOSPC test covers the code path`);
    try {
      const out = join(mount, 'run');
      cpSync(base(), out, { recursive: true });
      const before = readFileSync(join(out, 'last', 'weights.bin'));
      // Fill the disk, leaving room for a little less than one checkpoint.
      spawnSync('dd', ['if=/dev/zero', `of=${join(mount, 'filler')}`, 'bs=4k'], { stdio: 'ignore' });
      const full = await resnet(['train', '--resume', out, '--epochs', '3']);
      assertRefused(full, /no space left on the disk \(ENOSPC\)/);
      assert.equal(json(join(out, 'last', 'state.json')).epoch, 1);
      assert.deepEqual(readFileSync(join(out, 'last', 'weights.bin')), before);
      rmSync(join(mount, 'filler'));
      const again = await resnet(['train', '--resume', out, '--epochs', '3']);
      assert.equal(again.status, 0, again.stderr);
      await assertComplete(out, 3);
    } finally {
      spawnSync('umount', ['-l', mount]);
    }
  });

  test('evaluate of a model in a read-only folder: results, and a notice instead of confusion.svg', async (t) => {
    const injected = await resnet(['evaluate', '--model', base(), '--data', data, '--backend', 'cpu'], { env: { RESNET_TEST_FAULTS: 'erofs@confusion.svg' } });
    assert.equal(injected.status, 0, injected.stderr);
    assert.match(injected.stdout, /accuracy \d\.\d{4}/);
    assert.match(injected.stderr.trim(), /^resnet: note: confusion\.svg not written \(.*: read-only file system \(EROFS\)\); use --out DIR to save it elsewhere$/);
    const mount = join(root, 'readonly');
    mkdirSync(mount);
    if (spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', mount]).status !== 0) return t.skip('cannot mount a tmpfs here; the injected EROFS case above covers the code path');
    try {
      cpSync(base(), join(mount, 'run'), { recursive: true });
      execFileSync('mount', ['-o', 'remount,ro', mount]);
      const ro = join(mount, 'run');
      const [evaluate, json, into, resume, fresh] = await Promise.all([
        resnet(['evaluate', '--model', ro, '--data', data, '--backend', 'cpu']),
        resnet(['evaluate', '--model', ro, '--data', data, '--backend', 'cpu', '--json']),
        resnet(['evaluate', '--model', ro, '--data', data, '--backend', 'cpu', '--out', join(ro, 'figures')]),
        resnet(['train', '--resume', ro, '--epochs', '2']),
        resnet(trainArgs(join(mount, 'new'))),
      ]);
      assert.equal(evaluate.status, 0, evaluate.stderr);
      assert.match(evaluate.stderr, /^resnet: note: confusion\.svg not written .*read-only file system \(EROFS\)/);
      assert.equal(JSON.parse(json.stdout).confusion_svg, null);
      assertRefused(into, /cannot create the output folder .*figures: read-only file system \(EROFS\)/);
      assertRefused(resume, /cannot lock the run folder: .*read-only file system \(EROFS\)/);
      assertRefused(fresh, /cannot create the output folder .*read-only file system \(EROFS\)/);
    } finally {
      spawnSync('umount', ['-l', mount]);
    }
  });
});

describe('divergence', () => {
  test('a run that diverges stops in one line and writes no checkpoint of a diverged epoch', async () => {
    const out = join(root, 'diverge');
    const r: Run = await resnet(['train', '--data', data, '--epochs', '3', '--out', out, ...TRAIN, '--lr', '1e30', '--optimizer', 'sgd']);
    assertRefused(r, /training diverged/);
    // Whatever epoch it reached, no file of the folder holds a NaN weight.
    if (existsSync(join(out, 'last'))) {
      const { model } = await loadModelFolder(join(out, 'last'));
      const values = model.getWeights().flatMap((w) => Array.from(w.dataSync()));
      model.dispose();
      assert.ok(values.every(Number.isFinite));
    }
  });
});
