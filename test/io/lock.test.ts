// The run-folder lock: exclusive within and across processes, stale locks taken over by exactly one
// contender, released on exit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { lockRunFolder, LOCK_FILE } from '../../src/io/lock.js';
import { UserError } from '../../src/errors.js';

const LOCK_MODULE = fileURLToPath(new URL('../../src/io/lock.js', import.meta.url));

test('a second lock in the same process is refused; release frees the folder; verify notices a lost lock', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'resnet-lock-'));
  const lock = await lockRunFolder(dir);
  const owner = JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8'));
  assert.equal(owner.pid, process.pid);
  assert.equal(owner.host, hostname());
  await assert.rejects(lockRunFolder(dir), (e: Error) => e instanceof UserError && new RegExp(`in use by another training \\(process ${process.pid}`).test(e.message));
  await lock.verify();
  writeFileSync(join(dir, LOCK_FILE), '{"pid": 1}');
  await assert.rejects(lock.verify(), (e: Error) => e instanceof UserError && /lost the lock .* taken by another process/.test(e.message));
  await lock.release(); // not ours any more: left alone
  assert.ok(existsSync(join(dir, LOCK_FILE)));
  writeFileSync(join(dir, LOCK_FILE), 'garbage');
  const notices: string[] = [];
  const again = await lockRunFolder(dir, (line) => notices.push(line));
  assert.match(notices.join('\n'), /removed a damaged lock file/);
  await again.release();
  assert.ok(!existsSync(join(dir, LOCK_FILE)));
});

test('eight processes race for one stale lock: exactly one wins, the others are told who holds it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'resnet-lock-race-'));
  writeFileSync(join(dir, LOCK_FILE), JSON.stringify({ pid: 4194304, started: '', host: hostname(), since: '2020-01-01T00:00:00Z', command: 'gone' }));
  // Each contender tries, reports, and holds a won lock for a second so that the others see it.
  const script = `
    const { lockRunFolder } = await import(${JSON.stringify(LOCK_MODULE)});
    try { await lockRunFolder(${JSON.stringify(dir)}); console.log('won'); await new Promise((r) => setTimeout(r, 1500)); }
    catch (e) { console.log(/in use by another training/.test(e.message) ? 'busy' : 'error: ' + e.message); }`;
  const outputs = await Promise.all(
    Array.from({ length: 8 }, () => new Promise<string>((resolve) => {
      const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      child.on('close', () => resolve(out.trim()));
    })),
  );
  assert.equal(outputs.filter((o) => o === 'won').length, 1, outputs.join(', '));
  assert.equal(outputs.filter((o) => o === 'busy').length, 7, outputs.join(', '));
  assert.ok(!existsSync(join(dir, LOCK_FILE)), 'the winner released the lock when it exited');
});
