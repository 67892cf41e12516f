// Confinement of request paths to a served folder: a URL path maps to a regular file inside the
// folder or to nothing. Refused: undecodable percent-encoding, NUL bytes, backslashes, '.' and '..'
// segments (raw or percent-encoded), absolute paths, and anything whose real path (symbolic links
// resolved) lies outside the folder's real path. (A shared helper, src/io/confine.ts, is planned;
// this one is the web server's own until then.)
import { realpath, stat } from 'node:fs/promises';
import { join, sep } from 'node:path';

/**
 * The real path of the regular file that `urlPath` (percent-encoded, relative to the folder, no
 * leading slash) names inside `root` (a real path: pass it through realpath first), or null.
 */
export async function fileInside(root: string, urlPath: string): Promise<string | null> {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return null;
  }
  if (decoded === '' || decoded.includes('\0') || decoded.includes('\\') || decoded.startsWith('/')) return null;
  const segments = decoded.split('/');
  if (segments.some((s) => s === '' || s === '.' || s === '..')) return null;
  let real: string;
  try {
    real = await realpath(join(root, ...segments));
  } catch {
    return null;
  }
  if (!real.startsWith(root.endsWith(sep) ? root : root + sep)) return null;
  const info = await stat(real).catch(() => null);
  return info?.isFile() ? real : null;
}
