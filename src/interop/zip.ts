// Reads named members of a zip archive held in memory (fflate), trusting nothing the archive says:
// a member name that could escape a folder (absolute, '..', backslashes, drive letters) is refused
// outright, as is a member whose declared size is over its limit or beyond what its compressed bytes
// could hold, before anything is inflated. Members are only ever looked up by exact name and returned
// as bytes; nothing is written under a member's name. Browser-safe.
import { unzipSync, type UnzipFileInfo } from 'fflate';
import { UserError } from '../errors.js';

/** Deflate's best ratio is about 1032:1; a declared size beyond this times the compressed size is a lie. */
const MAX_DEFLATE_RATIO = 1100;
const STORED = 0;
const DEFLATED = 8;

/** A member name that, written to disk as is, would land outside the target folder. */
export function unsafeMemberName(name: string): boolean {
  return name.startsWith('/') || name.includes('\\') || /^[A-Za-z]:/.test(name) || name.split('/').includes('..') || name.includes('\0');
}

/** The members named in `limits` (name -> most bytes allowed), as bytes; absent ones are left out. */
export function readZipMembers(data: Uint8Array, limits: Record<string, number>, source: string): Map<string, Uint8Array> {
  let unzipped: Record<string, Uint8Array>;
  try {
    unzipped = unzipSync(data, {
      filter: (file: UnzipFileInfo) => {
        if (unsafeMemberName(file.name)) throw new UserError(`${source}: archive member '${file.name.slice(0, 100)}' has an unsafe name (absolute or with '..'): refused`);
        const limit = limits[file.name];
        if (limit === undefined) return false;
        if (file.compression !== STORED && file.compression !== DEFLATED) throw new UserError(`${source}: member '${file.name}' uses compression method ${file.compression} (only stored and deflate are read)`);
        const ceiling = file.compression === STORED ? file.size : file.size * MAX_DEFLATE_RATIO;
        if (file.originalSize > limit || file.originalSize > ceiling) {
          throw new UserError(`${source}: member '${file.name}' declares ${file.originalSize} bytes (limit ${limit}, ${file.size} compressed): refused`);
        }
        return true;
      },
    });
  } catch (error) {
    if (error instanceof UserError) throw error;
    throw new UserError(`${source}: not a readable zip archive (${(error as Error).message.slice(0, 80)}; truncated or corrupt)`);
  }
  return new Map(Object.entries(unzipped));
}
