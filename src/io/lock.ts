// An exclusive lock on a run folder, so that two trainings never write into one folder. The lock is a
// file `.lock` holding its owner (pid, the process's start time, host, command), created complete in
// one step (written aside, then hard-linked into place, which fails if a lock exists). A second
// process finds the lock, sees its owner alive and stops with a clear message. A lock whose owner is
// gone (killed, machine rebooted, pid reused by another program) is stale and is taken over: it is
// renamed aside (only one contender can) and checked to be the one judged stale.
//
// Written by hand, not with `proper-lockfile`: that library detects stale locks by an mtime heartbeat
// refreshed from the event loop, and a training step or a validation pass blocks the event loop for
// longer than any sensible heartbeat, so a healthy run would be declared dead. A pid + start-time
// check is exact on one machine and needs no heartbeat. flock(2) would be simpler still but is not
// reachable from Node without a native module. A lock held from another machine (a shared file
// system) cannot be checked and is never taken over; the message says how to remove it. Node-only.
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { link, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { UserError } from '../errors.js';
import { fileError } from './fs-errors.js';

export const LOCK_FILE = '.lock';

interface Owner {
  pid: number;
  /** The process's start time in clock ticks after boot, with the boot id: tells a reused pid apart. */
  started: string;
  host: string;
  since: string;
  command: string;
}

/** Start time of process `pid` (field 22 of /proc/PID/stat) and this boot's id; '' where /proc is absent. */
function processStart(pid: number): string {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    return `${boot}:${fields[19]}`;
  } catch {
    return '';
  }
}

function isAlive(owner: Owner): boolean {
  try {
    process.kill(owner.pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
  }
  const now = processStart(owner.pid);
  return !(owner.started && now && now !== owner.started);
}

function parseOwner(text: string): Owner | null {
  try {
    const o = JSON.parse(text) as Owner;
    return Number.isInteger(o?.pid) && o.pid > 0 && typeof o.host === 'string' ? o : null;
  } catch {
    return null;
  }
}

export interface RunLock {
  readonly path: string;
  /** Throws a UserError if the lock is no longer this process's (it was removed or taken over). */
  verify(): Promise<void>;
  /** Removes the lock if it is still this process's. */
  release(): Promise<void>;
}

/** Creates `path` holding `content` only if no file is there; false if one is. */
async function createExclusive(path: string, content: string): Promise<boolean> {
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, content);
  try {
    await link(tmp, path);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP') throw error;
    // File systems without hard links: exclusive create (a reader may briefly see it empty).
    try {
      const fd = openSync(path, 'wx');
      writeSync(fd, content);
      closeSync(fd);
      return true;
    } catch (inner) {
      if ((inner as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw inner;
    }
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
}

/**
 * Takes the lock of run folder `dir` (which must exist), or throws a UserError naming the process that
 * holds it. `notice` hears about a stale lock taken over.
 */
export async function lockRunFolder(dir: string, notice: (line: string) => void = () => undefined): Promise<RunLock> {
  const path = join(dir, LOCK_FILE);
  const me: Owner = { pid: process.pid, started: processStart(process.pid), host: hostname(), since: new Date().toISOString(), command: process.argv.slice(1).join(' ').slice(0, 500) };
  const content = JSON.stringify(me) + '\n';
  for (let attempt = 0; attempt < 20; attempt++) {
    try {
      if (await createExclusive(path, content)) return ownLock(path, content);
    } catch (error) {
      throw fileError(error, 'cannot lock the run folder: cannot write', path);
    }
    const text = await readFile(path, 'utf8').catch(() => null);
    if (text === null) continue; // released in between: try again
    const owner = parseOwner(text);
    if (owner && owner.host !== me.host) {
      throw new UserError(`${dir} is locked by process ${owner.pid} on host ${owner.host} (since ${owner.since}); if no training runs there any more, delete ${path}`);
    }
    if (owner && isAlive(owner)) {
      throw new UserError(`${dir} is in use by another training (process ${owner.pid}, since ${owner.since}); wait for it to end or choose another --out`);
    }
    // Stale: move it aside (one contender wins) and make sure what moved is what was judged stale.
    const aside = `${path}.stale-${process.pid}`;
    try {
      await rename(path, aside);
    } catch {
      continue;
    }
    const moved = await readFile(aside, 'utf8').catch(() => '');
    if (moved !== text) await link(aside, path).catch(() => undefined); // a live lock taken in between: put it back
    else notice(owner ? `took over the lock of process ${owner.pid}, which is no longer running (${dir})` : `removed a damaged lock file (${path})`);
    await unlink(aside).catch(() => undefined);
    if (moved !== text) await new Promise((r) => setTimeout(r, 50));
  }
  throw new UserError(`${dir}: could not take the lock ${path} (other processes keep taking it)`);
}

function ownLock(path: string, content: string): RunLock {
  let held = true;
  const onExit = () => {
    try {
      if (readFileSync(path, 'utf8') === content) unlinkSync(path);
    } catch {
      // gone already
    }
  };
  process.on('exit', onExit);
  return {
    path,
    async verify() {
      const now = await readFile(path, 'utf8').catch(() => null);
      if (now !== content) throw new UserError(`lost the lock on the run folder (${path} was ${now === null ? 'removed' : 'taken by another process'}); stopping without writing`);
    },
    async release() {
      if (!held) return;
      held = false;
      process.off('exit', onExit);
      onExit();
    },
  };
}
