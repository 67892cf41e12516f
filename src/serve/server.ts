// `resnet serve`'s web server (Node's http module): the web page (dist/app, built by web/build.mjs),
// models.json (the served models), and each model folder's files under models/<id>/, read-only and
// confined to that folder (files.ts). Every response carries the cross-origin isolation headers
// (COOP/COEP), so that the page may use SharedArrayBuffer: the wasm engine's threads. Bound to
// 127.0.0.1 unless told otherwise; while bound to a loopback address, requests naming another host
// are refused (a DNS-rebinding page cannot read the models).
import { createReadStream } from 'node:fs';
import { readFile, realpath } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename, dirname, extname, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UserError } from '../errors.js';
import { modelJsonPath } from '../train/checkpoint.js';
import { fileInside } from './files.js';

/** Where the built web page lives (dist/app, next to dist/src). */
export const APP_DIR = fileURLToPath(new URL('../../app/', import.meta.url));

export interface ServedModel {
  id: string;
  /** The folder as given on the command line. */
  name: string;
  /** Real path of the folder that holds model.json: everything under it is served, nothing else. */
  root: string;
  /** URL of model.json, relative to the page. */
  url: string;
  classNames: string[];
  inputShape: number[];
  preprocessing?: unknown;
}

export interface ServeOptions {
  models: string[];
  port: number;
  host: string;
  appDir?: string;
}

export interface RunningServer {
  server: Server;
  url: string;
  models: ServedModel[];
  close(): Promise<void>;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.wasm': 'application/wasm',
  '.bin': 'application/octet-stream',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.svg': 'image/svg+xml',
  '.txt': 'text/plain; charset=utf-8',
  '.ico': 'image/x-icon',
};

/** Headers of every response: cross-origin isolation (wasm threads), no sniffing, no stale caches. */
export const SECURITY_HEADERS: Record<string, string> = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-cache',
};

/** Reads the model folders named on the command line: ids, real roots, metadata. */
async function describeModels(dirs: string[]): Promise<ServedModel[]> {
  const used = new Set<string>();
  const out: ServedModel[] = [];
  for (const dir of dirs) {
    const jsonPath = modelJsonPath(dir);
    let json: { userDefinedMetadata?: { classNames?: string[]; inputShape?: number[]; preprocessing?: unknown } };
    try {
      json = JSON.parse(await readFile(jsonPath, 'utf8'));
    } catch (error) {
      throw new UserError(`${jsonPath}: cannot read the model description (${(error as Error).message.split('\n')[0]})`);
    }
    const meta = json?.userDefinedMetadata;
    if (!meta || !Array.isArray(meta.classNames) || !Array.isArray(meta.inputShape)) {
      throw new UserError(`${jsonPath}: no class names / input shape in userDefinedMetadata (not written by 'resnet train')`);
    }
    const root = await realpath(dirname(jsonPath));
    const stem = (basename(dir.replace(/[\\/]+$/, '')) || 'model').replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, '_');
    let id = stem;
    for (let n = 2; used.has(id); n++) id = `${stem}-${n}`;
    used.add(id);
    const file = relative(root, await realpath(jsonPath)).split(sep).map(encodeURIComponent).join('/');
    out.push({ id, name: dir, root, url: `models/${encodeURIComponent(id)}/${file}`, classNames: meta.classNames, inputShape: meta.inputShape, preprocessing: meta.preprocessing });
  }
  return out;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

function hostName(header: string | undefined): string {
  if (!header) return '';
  const h = header.toLowerCase();
  return h.startsWith('[') ? h.slice(0, h.indexOf(']') + 1) : h.split(':')[0];
}

function send(res: ServerResponse, status: number, body: string, type = 'text/plain; charset=utf-8'): void {
  res.writeHead(status, { ...SECURITY_HEADERS, 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

async function sendFile(req: IncomingMessage, res: ServerResponse, file: string | null): Promise<void> {
  if (!file) return send(res, 404, 'not found\n');
  const stream = createReadStream(file);
  await new Promise<void>((resolve) => {
    stream.once('open', () => {
      res.writeHead(200, { ...SECURITY_HEADERS, 'Content-Type': TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream' });
      if (req.method === 'HEAD') {
        stream.destroy();
        res.end();
        resolve();
      } else {
        stream.pipe(res).once('finish', resolve);
      }
    });
    stream.once('error', () => {
      if (!res.headersSent) send(res, 404, 'not found\n');
      else res.destroy();
      resolve();
    });
  });
}

/** Starts the server; resolves once it listens (port 0: any free port). */
export async function startServer(options: ServeOptions): Promise<RunningServer> {
  const models = await describeModels(options.models);
  const appDir = options.appDir ?? APP_DIR;
  let appRoot: string;
  try {
    appRoot = await realpath(appDir);
    await readFile(`${appRoot}/index.html`);
  } catch {
    throw new UserError(`the web page is not built (no ${appDir}index.html): run 'npm run build'`);
  }
  const byId = new Map(models.map((m) => [m.id, m]));
  const listing = JSON.stringify(models.map(({ id, name, url, classNames, inputShape, preprocessing }) => ({ id, name: basename(name), url, classNames, inputShape, preprocessing })));
  const checkHost = LOOPBACK.has(options.host) || options.host.startsWith('127.');

  const server = createServer((req, res) => {
    void (async () => {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.setHeader('Allow', 'GET, HEAD');
        return send(res, 405, 'method not allowed\n');
      }
      if (checkHost && !LOOPBACK.has(hostName(req.headers.host)) && !hostName(req.headers.host).startsWith('127.')) {
        return send(res, 403, 'this server answers requests for localhost only\n');
      }
      const raw = (req.url ?? '/').split('?')[0].split('#')[0];
      if (!raw.startsWith('/')) return send(res, 400, 'bad request\n');
      const path = raw.slice(1);
      if (path === 'models.json') return send(res, 200, listing, TYPES['.json']);
      if (path.startsWith('models/')) {
        const rest = path.slice('models/'.length);
        const slash = rest.indexOf('/');
        const model = slash > 0 ? byId.get(decodeSafe(rest.slice(0, slash))) : undefined;
        return sendFile(req, res, model ? await fileInside(model.root, rest.slice(slash + 1)) : null);
      }
      return sendFile(req, res, await fileInside(appRoot, path === '' ? 'index.html' : path));
    })().catch(() => {
      if (!res.headersSent) send(res, 500, 'internal error\n');
      else res.destroy();
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      const why = error.code === 'EADDRINUSE' ? 'is in use (try another --port, or --port 0 for any free one)' : error.code === 'EACCES' ? 'needs privileges (use a port above 1023)' : `cannot be opened (${error.code ?? error.message})`;
      reject(new UserError(`${options.host}:${options.port} ${why}`));
    });
    server.listen(options.port, options.host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    server,
    url: `http://${host}:${address.port}/`,
    models,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function decodeSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return '';
  }
}
