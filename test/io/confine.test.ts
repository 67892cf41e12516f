// resolveInside: a path named in a file stays inside the file's folder, symbolic links resolved.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isInside, resolveInside } from '../../src/io/confine.js';
import { UserError } from '../../src/errors.js';

const refused = (pattern: RegExp) => (e: Error) => e instanceof UserError && pattern.test(e.message);

test('files inside (also through links that stay inside, and when the folder itself is a link) resolve to their real path', async () => {
  const root = realpathSync(mkdtempSync(join(tmpdir(), 'resnet-confine-')));
  const folder = join(root, 'model');
  mkdirSync(join(folder, 'shards'), { recursive: true });
  writeFileSync(join(folder, 'shards', 'a.bin'), 'a');
  symlinkSync(join(folder, 'shards', 'a.bin'), join(folder, 'link.bin'));
  symlinkSync(folder, join(root, 'alias'));
  assert.equal(await resolveInside(folder, 'shards/a.bin'), join(folder, 'shards', 'a.bin'));
  assert.equal(await resolveInside(folder, './shards/../shards/a.bin'), join(folder, 'shards', 'a.bin'));
  assert.equal(await resolveInside(folder, 'link.bin'), join(folder, 'shards', 'a.bin'));
  assert.equal(await resolveInside(join(root, 'alias'), 'shards/a.bin'), join(folder, 'shards', 'a.bin'));
});

test('paths out, absolute, odd or through links out are refused; a missing file is named', async () => {
  const root = realpathSync(mkdtempSync(join(tmpdir(), 'resnet-confine-')));
  const folder = join(root, 'model');
  mkdirSync(folder);
  writeFileSync(join(root, 'secret.bin'), 's');
  symlinkSync(join(root, 'secret.bin'), join(folder, 'out.bin'));
  symlinkSync(root, join(folder, 'up'));
  await assert.rejects(resolveInside(folder, '../secret.bin'), refused(/points outside the folder/));
  await assert.rejects(resolveInside(folder, '..'), refused(/points outside the folder/));
  await assert.rejects(resolveInside(folder, join(root, 'secret.bin')), refused(/is absolute/));
  await assert.rejects(resolveInside(folder, '\\\\server\\share'), refused(/is absolute/));
  await assert.rejects(resolveInside(folder, 'C:secret.bin'), refused(/is absolute/));
  await assert.rejects(resolveInside(folder, 'out.bin'), refused(/symbolic link to .*secret\.bin, outside the folder/));
  await assert.rejects(resolveInside(folder, 'up/secret.bin'), refused(/outside the folder/));
  await assert.rejects(resolveInside(folder, ''), refused(/invalid file path/));
  await assert.rejects(resolveInside(folder, 'a\0b'), refused(/invalid file path/));
  await assert.rejects(resolveInside(folder, 'x'.repeat(5000)), refused(/invalid file path/));
  await assert.rejects(resolveInside(folder, 42), refused(/must be a string, got 42/));
  await assert.rejects(resolveInside(folder, null), refused(/must be a string, got null/));
  await assert.rejects(resolveInside(folder, 'missing.bin', 'weights file'), refused(/missing\.bin: weights file missing/));
  await assert.rejects(resolveInside(join(root, 'nope'), 'a.bin'), refused(/folder not found/));
});

test('isInside compares whole path components', () => {
  assert.ok(isInside('/a/b', '/a/b'));
  assert.ok(isInside('/a/b', '/a/b/c'));
  assert.ok(!isInside('/a/b', '/a/bc'));
  assert.ok(!isInside('/a/b', '/a'));
  assert.ok(isInside('/a/b', '/a/b/..c'));
});
