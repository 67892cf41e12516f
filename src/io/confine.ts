// Paths named inside a file (a model.json's weightsManifest, later the files `resnet serve` hands out)
// must stay inside the folder that holds that file. `resolveInside` refuses absolute paths, `..` that
// climbs out, odd names and symbolic links (at any level) whose target lies outside, by comparing
// real paths (symlinks resolved) of the folder and of the file. Node-only.
import { realpath } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { UserError } from '../errors.js';

/** Longest relative path accepted, in characters (Linux's PATH_MAX is 4096). */
const MAX_RELATIVE_PATH = 4096;

/** True when `child` (absolute, normalised) is `root` itself or lies below it. */
export function isInside(root: string, child: string): boolean {
  const rel = relative(root, child);
  return rel === '' || (!rel.startsWith('..' + sep) && rel !== '..' && !isAbsolute(rel));
}

/**
 * The real path of `relativePath` inside `root`, which must exist and stay inside `root` once every
 * symbolic link is resolved; otherwise a UserError naming `what` (e.g. "weights file"). `root`
 * itself may be reached through symlinks: only what lies below it is held to it.
 */
export async function resolveInside(root: string, relativePath: unknown, what = 'file'): Promise<string> {
  if (typeof relativePath !== 'string') throw new UserError(`${root}: the ${what} path must be a string, got ${JSON.stringify(relativePath) ?? typeof relativePath}`);
  const shown = JSON.stringify(relativePath.length > 200 ? relativePath.slice(0, 200) + '...' : relativePath);
  if (relativePath === '' || relativePath.length > MAX_RELATIVE_PATH || relativePath.includes('\0')) {
    throw new UserError(`${root}: invalid ${what} path ${shown}`);
  }
  if (isAbsolute(relativePath) || /^[a-zA-Z]:|^[\\/]/.test(relativePath)) {
    throw new UserError(`${root}: the ${what} path ${shown} is absolute; it must be relative to the folder`);
  }
  const realRoot = await realpath(root).catch(() => {
    throw new UserError(`${root}: folder not found`);
  });
  const lexical = resolve(realRoot, relativePath);
  if (!isInside(realRoot, lexical)) throw new UserError(`${root}: the ${what} path ${shown} points outside the folder`);
  const real = await realpath(join(realRoot, relativePath)).catch((error: NodeJS.ErrnoException) => {
    const reason = error.code === 'ENOENT' ? 'missing' : error.code === 'ELOOP' ? 'a symbolic link loop' : `unreadable (${error.code ?? error.message})`;
    throw new UserError(`${join(root, relativePath)}: ${what} ${reason}`);
  });
  if (!isInside(realRoot, real)) throw new UserError(`${root}: the ${what} path ${shown} is a symbolic link to ${real}, outside the folder`);
  return real;
}
