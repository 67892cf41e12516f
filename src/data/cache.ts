// The decoded-data cache: a folder's images decoded once are kept as one file of 8-bit pixels
// (<key>.pixels, NHWC) and a description (<key>.json: shape, labels, class names), so that the next
// run on the same unchanged folder reads them back instead of decoding again. The key is a SHA-256 of
// everything the pixels depend on: the files (paths, sizes, modification times), the decode options
// and the decoder's version. The cache lives outside the data folder ($XDG_CACHE_HOME/resnet-ts, or
// ~/.cache/resnet-ts), so read-only data works. Files are written under temporary names and renamed,
// the description last: a half-written entry is never found.
import { createHash } from 'node:crypto';
import { mkdir, open, readFile, rename, rm, stat, writeFile, type FileHandle } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** Bumped whenever the layout or the decoding changes what a key's pixels would be. */
export const CACHE_FORMAT = 1;

/** $XDG_CACHE_HOME/resnet-ts, else ~/.cache/resnet-ts (the XDG base-directory default). */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CACHE_HOME && env.XDG_CACHE_HOME.startsWith('/') ? env.XDG_CACHE_HOME : join(homedir(), '.cache');
  return join(base, 'resnet-ts');
}

/** The key of a description of everything the decoded pixels depend on. */
export function cacheKey(description: unknown): string {
  return createHash('sha256').update(JSON.stringify({ format: CACHE_FORMAT, description })).digest('hex').slice(0, 32);
}

/** What <key>.json holds. */
export interface CacheEntry {
  format: number;
  shape: [number, number, number, number];
  labels: number[];
  classNames: string[];
  /** The notice line the first decode printed (images resized), repeated on every cached run. */
  notice?: string;
  created: string;
}

const paths = (dir: string, key: string) => ({ json: join(dir, `${key}.json`), pixels: join(dir, `${key}.pixels`) });

/** The entry for `key` with the path of its pixels, or undefined when absent, incomplete or damaged. */
export async function findCached(dir: string, key: string): Promise<{ entry: CacheEntry; pixels: string } | undefined> {
  const { json, pixels } = paths(dir, key);
  try {
    const entry = JSON.parse(await readFile(json, 'utf8')) as CacheEntry;
    const size = (await stat(pixels)).size;
    const [n, h, w, c] = entry.shape;
    if (entry.format !== CACHE_FORMAT || size !== n * h * w * c || entry.labels.length !== n) return undefined;
    return { entry, pixels };
  } catch {
    return undefined;
  }
}

/** Reads `length` bytes of a cache file into `target` (a fresh array when not given). */
export async function readPixels(path: string, length: number, target: Uint8Array = new Uint8Array(length)): Promise<Uint8Array> {
  const handle = await open(path, 'r');
  try {
    for (let done = 0; done < length; ) {
      const { bytesRead } = await handle.read(target, done, Math.min(length - done, 1 << 30), done);
      if (bytesRead === 0) throw new Error(`${path}: ends after ${done} of ${length} bytes`);
      done += bytesRead;
    }
    return target;
  } finally {
    await handle.close();
  }
}

/** Writes one cache entry: pixels at any offset, in any order, then `commit` publishes it. */
export class CacheWriter {
  private constructor(
    private readonly handle: FileHandle,
    private readonly tmp: string,
    readonly dir: string,
    readonly key: string,
  ) {}

  /** Opens a new entry in `dir` (created if needed); throws the file system's error when it cannot. */
  static async create(dir: string, key: string): Promise<CacheWriter> {
    await mkdir(dir, { recursive: true });
    const tmp = `${paths(dir, key).pixels}.tmp-${process.pid}`;
    return new CacheWriter(await open(tmp, 'w'), tmp, dir, key);
  }

  /** Writes `bytes` at byte `position` of the pixel file. */
  async write(bytes: Uint8Array, position: number): Promise<void> {
    for (let done = 0; done < bytes.length; ) {
      const { bytesWritten } = await this.handle.write(bytes, done, bytes.length - done, position + done);
      done += bytesWritten;
    }
  }

  /** Renames the pixels into place, then writes the description: from now on the entry is found. Returns the pixel file's path. */
  async commit(entry: Omit<CacheEntry, 'format' | 'created'>): Promise<string> {
    await this.handle.close();
    const { json, pixels } = paths(this.dir, this.key);
    await rename(this.tmp, pixels);
    const full: CacheEntry = { format: CACHE_FORMAT, ...entry, created: new Date().toISOString() };
    await writeFile(`${json}.tmp-${process.pid}`, JSON.stringify(full));
    await rename(`${json}.tmp-${process.pid}`, json);
    return pixels;
  }

  /** Removes the unfinished entry. */
  async abort(): Promise<void> {
    await this.handle.close().catch(() => {});
    await rm(this.tmp, { force: true });
  }
}
