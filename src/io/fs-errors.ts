// File-system failures the user can act on (disk full, read-only, permissions, missing folders) as
// one readable sentence. Node-only.
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { UserError } from '../errors.js';

const REASONS: Record<string, string> = {
  ENOSPC: 'no space left on the disk',
  EDQUOT: 'disk quota exceeded',
  EFBIG: 'file too large for this file system or for the file-size limit (ulimit -f)',
  EROFS: 'read-only file system',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOENT: 'no such file or folder',
  ENOTDIR: 'a part of the path is not a folder',
  EISDIR: 'is a folder',
  EEXIST: 'already exists',
  ENAMETOOLONG: 'name too long',
  ELOOP: 'too many symbolic links',
  EMFILE: 'too many open files',
  ENFILE: 'too many open files on the system',
  EIO: 'input/output error',
  EBUSY: 'busy',
  EXDEV: 'crosses file systems',
};

/** True for Node's errno errors (fs calls), which carry a string `code` and a `syscall`. */
export function isSystemError(error: unknown): error is NodeJS.ErrnoException {
  return error instanceof Error && typeof (error as NodeJS.ErrnoException).code === 'string' && typeof (error as NodeJS.ErrnoException).syscall === 'string';
}

/** A one-line description of a file-system error, e.g. "no space left on the disk (ENOSPC)". */
export function describeSystemError(error: NodeJS.ErrnoException): string {
  const code = error.code ?? 'unknown';
  return `${REASONS[code] ?? error.message.split('\n')[0]} (${code})`;
}

/** The UserError for a failed file operation: `${doing} ${path}: <reason>[; <after>]`. */
export function fileError(error: unknown, doing: string, path: string, after = ''): Error {
  if (error instanceof UserError) return error;
  if (!isSystemError(error)) return error as Error;
  return new UserError(`${doing} ${path}: ${describeSystemError(error)}${after ? `; ${after}` : ''}`);
}

/**
 * mkdir -p, failing with a UserError `${doing} ${dir}: <reason>`. Node's recursive mkdir reports ENOENT
 * where a parent cannot be created (a read-only file system, no permission): the real reason comes from
 * creating the first missing folder alone.
 */
export async function makeFolder(dir: string, doing = 'cannot create the folder'): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
  } catch (error) {
    let reason = error;
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      let first = dir;
      while (!existsSync(dirname(first)) && dirname(first) !== first) first = dirname(first);
      reason = await mkdir(first).then(() => error, (inner: unknown) => inner);
    }
    throw fileError(reason, doing, dir);
  }
}
