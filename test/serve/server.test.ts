// `resnet serve`'s server: the page, models.json and the model folders' files, each response with
// the cross-origin isolation headers; and nothing outside the served folders, however the path is
// spelled (.., encoded .., backslashes, NUL, absolute paths, symbolic links out of a folder, another
// model's id), nor for another Host while bound to localhost. Raw HTTP requests: clients would
// normalise the '..' away before sending.
import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '../../src/tf.js';
import { buildModel } from '../../src/models/registry.js';
import { modelFiles } from '../../src/train/model-folder.js';
import { startServer, type RunningServer } from '../../src/serve/server.js';
import { fileInside } from '../../src/serve/files.js';
import { spawn } from 'node:child_process';
import { CLI, hasStack, runCli, tempDir } from '../cli/helpers.js';

let root = '';
let running: RunningServer;

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function get(path: string, options: { method?: string; host?: string } = {}): Promise<Reply> {
  const url = new URL(running.url);
  return new Promise((resolve, reject) => {
    const req = request(
      { host: url.hostname, port: url.port, path, method: options.method ?? 'GET', headers: { host: options.host ?? `127.0.0.1:${url.port}` } },
      (res) => {
        let body = '';
        res.setEncoding('latin1');
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

async function writeModelFolder(dir: string, classNames: string[]): Promise<void> {
  await tf.setBackend('cpu');
  const model = buildModel('tiny-resnet', { inputShape: [8, 8, 3], classes: classNames.length });
  const files = await modelFiles(model, { model: 'tiny-resnet', classNames, inputShape: [8, 8, 3], epoch: 1 });
  model.dispose();
  mkdirSync(dir, { recursive: true });
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
}

before(async () => {
  root = tempDir('resnet-serve-');
  await writeModelFolder(join(root, 'runs', 'signs'), ['a', 'b']);
  await writeModelFolder(join(root, 'runs', 'run with space', 'best'), ['x', 'y', 'z']);
  writeFileSync(join(root, 'runs', 'secret.txt'), 'SECRET next to the model folders');
  writeFileSync(join(root, 'secret.txt'), 'SECRET above everything');
  symlinkSync(join(root, 'secret.txt'), join(root, 'runs', 'signs', 'link-out.txt'));
  symlinkSync(join(root, 'runs', 'signs', 'model.json'), join(root, 'runs', 'signs', 'link-in.json'));
  mkdirSync(join(root, 'app'));
  writeFileSync(join(root, 'app', 'index.html'), '<!doctype html><title>app</title>');
  writeFileSync(join(root, 'app', 'app.js'), 'console.log(1)');
  running = await startServer({ models: [join(root, 'runs', 'signs'), join(root, 'runs', 'run with space')], port: 0, host: '127.0.0.1', appDir: join(root, 'app') });
});

after(() => running.close());

test('the page, models.json and model files are served with cross-origin isolation headers', async () => {
  const page = await get('/');
  assert.equal(page.status, 200);
  assert.match(page.body, /<title>app<\/title>/);
  assert.equal(page.headers['content-type'], 'text/html; charset=utf-8');
  assert.equal(page.headers['cross-origin-opener-policy'], 'same-origin');
  assert.equal(page.headers['cross-origin-embedder-policy'], 'require-corp');
  assert.equal((await get('/app.js')).headers['content-type'], 'text/javascript; charset=utf-8');
  const listing = await get('/models.json');
  const models = JSON.parse(listing.body) as { id: string; url: string; classNames: string[] }[];
  assert.deepEqual(models.map((m) => [m.id, m.url, m.classNames]), [
    ['signs', 'models/signs/model.json', ['a', 'b']],
    ['run_with_space', 'models/run_with_space/model.json', ['x', 'y', 'z']],
  ]);
  for (const m of models) {
    const json = await get(`/${m.url}`);
    assert.equal(json.status, 200);
    assert.equal(json.headers['cross-origin-embedder-policy'], 'require-corp');
    assert.deepEqual(JSON.parse(json.body).userDefinedMetadata.classNames, m.classNames);
    const weights = await get(`/${m.url.replace('model.json', 'weights.bin')}`);
    assert.equal(weights.status, 200);
    assert.equal(weights.headers['content-type'], 'application/octet-stream');
  }
  const head = await get('/models/signs/model.json', { method: 'HEAD' });
  assert.equal(head.status, 200);
  assert.equal(head.body, '');
  assert.equal((await get('/models/signs/link-in.json')).status, 200, 'a link that stays inside the folder is fine');
  assert.equal(running.server.address() && (running.server.address() as { address: string }).address, '127.0.0.1');
});

test('nothing outside the served folders is reachable, however the path is spelled', async () => {
  const attempts = [
    '/models/signs/../secret.txt',
    '/models/signs/../../secret.txt',
    '/models/signs/%2e%2e/secret.txt',
    '/models/signs/%2E%2E%2Fsecret.txt',
    '/models/signs/..%2f..%2fsecret.txt',
    '/models/signs/%252e%252e/secret.txt',
    '/models/signs/..%5csecret.txt',
    '/models/signs/..\\secret.txt',
    '/models/signs/%00model.json',
    '/models/signs/model.json%00',
    '/models/signs//etc/passwd',
    '/models/signs/%2fetc%2fpasswd',
    `/models/signs/${encodeURIComponent(join(root, 'secret.txt'))}`,
    '/models/signs/link-out.txt',
    '/models/signs/./model.json',
    '/models/signs/',
    '/models/signs',
    '/models/%2e%2e/secret.txt',
    '/models/../secret.txt',
    '/../secret.txt',
    '/%2e%2e/secret.txt',
    '/%2e%2e/runs/secret.txt',
    '/models/nosuch/model.json',
    '/models/signs/%e0%a4%a',
    '/secret.txt',
  ];
  for (const path of attempts) {
    const r = await get(path);
    assert.ok(r.status === 404 || r.status === 400, `${path}: status ${r.status}`);
    assert.doesNotMatch(r.body, /SECRET|root:/, path);
  }
  assert.equal((await get('/models/signs/model.json', { method: 'POST' })).status, 405);
  assert.equal((await get('/models/signs/model.json', { method: 'PUT' })).status, 405);
});

test('while bound to localhost, requests for another host name are refused (DNS rebinding)', async () => {
  assert.equal((await get('/models.json', { host: 'evil.example:80' })).status, 403);
  assert.equal((await get('/models.json', { host: 'localhost:1' })).status, 200);
});

test('fileInside refuses a sibling folder that shares the root as a prefix', async () => {
  mkdirSync(join(root, 'runs', 'signs-other'), { recursive: true });
  writeFileSync(join(root, 'runs', 'signs-other', 'f.txt'), 'x');
  symlinkSync(join(root, 'runs', 'signs-other'), join(root, 'runs', 'signs', 'sib'));
  assert.equal(await fileInside(join(root, 'runs', 'signs'), 'sib/f.txt'), null);
  assert.ok((await fileInside(join(root, 'runs', 'signs'), 'model.json'))?.endsWith('model.json'));
});

test('resnet serve: mistakes are one line and exit 2; a good start prints the URL and stops on SIGTERM', async () => {
  for (const [args, pattern] of [
    [[join(root, 'nope')], /model folder '.*nope' does not exist/],
    [[join(root, 'app')], /holds no model\.json/],
    [['--port', 'abc'], /--port must be a non-negative integer/],
    [['--port', '70000'], /--port must be at most 65535/],
    [['--port', new URL(running.url).port], /is in use/],
  ] as const) {
    const r = runCli('serve', ...args);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, pattern);
    assert.ok(!hasStack(r.stderr));
  }
  const child = spawn(process.execPath, [CLI, 'serve', join(root, 'runs', 'signs'), '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const line = await new Promise<string>((resolve) => child.stdout.on('data', (d) => resolve(String(d))));
  const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
  child.kill('SIGTERM');
  assert.equal(await closed, 0);
  assert.match(line, /resnet serve: http:\/\/127\.0\.0\.1:\d+\/ {2}\(models: signs\)/);
});
