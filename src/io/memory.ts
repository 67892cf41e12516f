// How much memory this process may use, and a check that refuses, in one clear line, an allocation
// that cannot fit, before it is attempted (a failed allocation in V8 or the native engine aborts the
// process with a stack dump instead). Node-only: reads the OS, cgroup and rlimit figures.
import { readFileSync } from 'node:fs';
import { totalmem } from 'node:os';
import { UserError } from '../errors.js';
import { MEMORY_SHARE } from '../limits.js';

/** The address-space limit (`ulimit -v`) in bytes, or Infinity. */
function addressSpaceLimit(): number {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max address space'));
    const soft = line?.split(/\s{2,}/)[1];
    return soft === undefined || soft === 'unlimited' ? Infinity : Number(soft);
  } catch {
    return Infinity;
  }
}

/** Bytes this process can use at most: RAM, the cgroup limit (containers) and `ulimit -v`, the smallest. */
export function memoryLimit(): { bytes: number; source: string } {
  const candidates: { bytes: number; source: string }[] = [{ bytes: totalmem(), source: 'the machine' }];
  const cgroup = typeof process.constrainedMemory === 'function' ? process.constrainedMemory() : 0;
  if (cgroup && cgroup > 0 && Number.isFinite(cgroup) && cgroup < 2 ** 60) candidates.push({ bytes: cgroup, source: 'the container (cgroup)' });
  const address = addressSpaceLimit();
  if (Number.isFinite(address) && address > 0) candidates.push({ bytes: address, source: "the process's address-space limit (ulimit -v)" });
  return candidates.reduce((a, b) => (b.bytes < a.bytes ? b : a));
}

export function formatBytes(bytes: number): string {
  if (bytes >= 1024 ** 3) return `${(bytes / 1024 ** 3).toFixed(1)} GiB`;
  if (bytes >= 1024 ** 2) return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${bytes} bytes`;
}

/**
 * Throws a UserError when `bytes` (what `what` needs) exceeds MEMORY_SHARE of the memory this process
 * may use; `hint` says how to need less. Not finite (an overflowing product) counts as too much.
 */
export function checkMemory(bytes: number, what: string, hint: string): void {
  const limit = memoryLimit();
  const allowed = MEMORY_SHARE * limit.bytes;
  if (!Number.isFinite(bytes) || bytes > allowed) {
    const size = Number.isFinite(bytes) ? formatBytes(bytes) : 'an unbounded amount';
    throw new UserError(`${what} needs ${size} of memory, more than ${Math.round(MEMORY_SHARE * 100)}% of the ${formatBytes(limit.bytes)} that ${limit.source} allows; ${hint}`);
  }
}

/** Refuses a data set of `count` images of height x width x channels at `bytesPerValue` that cannot fit. */
export function checkImagesMemory(source: string, count: number, height: number, width: number, channels: number, bytesPerValue: number): void {
  checkMemory(count * height * width * channels * bytesPerValue, `${source}: ${count} images of ${height}x${width}x${channels}`, 'use a smaller --image-size or fewer images (--limit)');
}
