// Atomic writes: a failed write keeps the previous version and leaves no temporary; what a kill
// leaves behind is put right.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { recoverFolder, removeTemporaries, writeFileAtomically, writeFolderAtomically } from '../../src/io/atomic.js';
import { UserError } from '../../src/errors.js';

test('a folder replaced whole; a write that fails (a file where the folder must go) keeps the old one and no temporary', async () => {
  const root = mkdtempSync(join(tmpdir(), 'resnet-atomic-'));
  const dir = join(root, 'last');
  await writeFolderAtomically(dir, { 'a.txt': 'one', 'b.bin': new Uint8Array([1, 2]) });
  await writeFolderAtomically(dir, { 'a.txt': 'two' });
  assert.deepEqual(readdirSync(dir), ['a.txt']);
  assert.equal(readFileSync(join(dir, 'a.txt'), 'utf8'), 'two');
  // A file name that cannot be created (a sub-folder that does not exist) fails the write.
  await assert.rejects(writeFolderAtomically(dir, { 'missing/x.txt': 'three' }), (e: Error) => e instanceof UserError && /cannot write .*last: no such file or folder \(ENOENT\); its previous version is kept/.test(e.message));
  assert.equal(readFileSync(join(dir, 'a.txt'), 'utf8'), 'two');
  assert.deepEqual(readdirSync(root), ['last']);
  await assert.rejects(writeFileAtomically(join(root, 'nope', 'f.txt'), 'x'), (e: Error) => e instanceof UserError && /cannot write .*f\.txt: no such file or folder/.test(e.message));
});

test('recoverFolder puts back a folder renamed aside by a killed write; removeTemporaries clears the rest', async () => {
  const root = mkdtempSync(join(tmpdir(), 'resnet-atomic-'));
  mkdirSync(join(root, 'last'));
  writeFileSync(join(root, 'last', 'state.json'), '{}');
  renameSync(join(root, 'last'), join(root, 'last.old-99999'));
  mkdirSync(join(root, 'last.tmp-99999'));
  writeFileSync(join(root, 'history.jsonl.tmp-99998'), 'partial');
  writeFileSync(join(root, '.lock.stale-99997'), '{}');
  writeFileSync(join(root, `keep.tmp-${process.pid}`), 'mine');
  await recoverFolder(join(root, 'last'));
  await removeTemporaries(root);
  assert.ok(existsSync(join(root, 'last', 'state.json')));
  assert.deepEqual(readdirSync(root).sort(), ['keep.tmp-' + process.pid, 'last'].sort());
});
