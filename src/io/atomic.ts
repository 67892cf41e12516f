// Writes that a kill at any moment cannot leave half done. A file is written under a temporary name
// and renamed over the old one; a folder is written whole as a temporary sibling, the old one is
// renamed aside, the new one into place, and the old one removed. A failed write (disk full,
// read-only) removes its temporary and leaves the previous version as it was. What a kill leaves
// behind (`NAME.tmp-PID`, `NAME.old-PID`) is put right by `recoverFolder` / `removeTemporaries`.
// Guarantees hold for a killed process (SIGKILL, the OOM killer), not for power loss (no fsync).
// Node-only.
import { existsSync } from 'node:fs';
import { mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { faultPoint, faultWrite } from './faults.js';
import { fileError } from './fs-errors.js';

export type Files = Record<string, string | Uint8Array>;

/** Writes `files` as the folder `dir`, replacing any previous one only once the new one is complete. */
export async function writeFolderAtomically(dir: string, files: Files): Promise<void> {
  const name = basename(dir);
  const tmp = `${dir}.tmp-${process.pid}`;
  const old = `${dir}.old-${process.pid}`;
  try {
    await rm(tmp, { recursive: true, force: true });
    faultWrite(dir);
    await mkdir(tmp, { recursive: true });
    for (const [file, content] of Object.entries(files)) {
      faultWrite(join(tmp, file));
      await writeFile(join(tmp, file), content);
    }
  } catch (error) {
    await rm(tmp, { recursive: true, force: true }).catch(() => undefined);
    throw fileError(error, 'cannot write', dir, existsSync(dir) ? 'its previous version is kept' : '');
  }
  faultPoint(`folder-written:${name}`);
  const hadOld = existsSync(dir);
  if (hadOld) await rename(dir, old);
  faultPoint(`renamed-old:${name}`);
  await rename(tmp, dir);
  faultPoint(`renamed-new:${name}`);
  if (hadOld) await rm(old, { recursive: true, force: true });
}

/** Writes one file via a temporary name and a rename (never a half-written file under `path`). */
export async function writeFileAtomically(path: string, content: string | Uint8Array): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    faultWrite(path);
    await writeFile(tmp, content);
  } catch (error) {
    await rm(tmp, { force: true }).catch(() => undefined);
    throw fileError(error, 'cannot write', path, existsSync(path) ? 'its previous version is kept' : '');
  }
  faultPoint(`file-written:${basename(path)}`);
  await rename(tmp, path);
}

/**
 * If a kill struck between the two renames of writeFolderAtomically, `dir` is missing and its previous
 * version waits under `dir.old-PID`: put it back. Leftover temporary folders are removed.
 */
export async function recoverFolder(dir: string): Promise<void> {
  const parent = dirname(dir);
  if (!existsSync(parent)) return;
  const name = basename(dir);
  for (const entry of await readdir(parent)) {
    const full = join(parent, entry);
    if (entry.startsWith(`${name}.old-`) && !existsSync(dir)) await rename(full, dir);
    else if (entry.startsWith(`${name}.old-`) || entry.startsWith(`${name}.tmp-`)) await rm(full, { recursive: true, force: true });
  }
}

/** Removes the temporaries (`*.tmp-PID`, `*.stale-PID`) other processes left in `dir`; call it holding the folder's lock. */
export async function removeTemporaries(dir: string): Promise<void> {
  if (!existsSync(dir)) return;
  for (const entry of await readdir(dir)) {
    const m = /\.(?:tmp|stale)-(\d+)$/.exec(entry);
    if (m && Number(m[1]) !== process.pid) await rm(join(dir, entry), { recursive: true, force: true });
  }
}
