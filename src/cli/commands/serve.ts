// `resnet serve`: the web page (classify, explain, fine-tune) with the given model folders, read-only.
import type { Command } from 'commander';
import { action, fail, nonNegativeInt } from '../run.js';

interface ServeFlags {
  port: string;
  host: string;
}

export function register(program: Command): void {
  program
    .command('serve')
    .description('serve the web page (classify, explain, fine-tune in the browser) with these model folders, read-only')
    .argument('[models...]', "model folders written by 'resnet train' (run folders or their best/ or last/)")
    .option('--port <n>', 'TCP port (0: any free port)', '8080')
    .option('--host <address>', 'address to listen on (127.0.0.1: this machine only)', '127.0.0.1')
    .action(
      action(async (models: string[], flags: ServeFlags) => {
        const port = nonNegativeInt('port', flags.port);
        if (port > 65535) fail(`--port must be at most 65535, got '${flags.port}'`);
        const { startServer } = await import('../../serve/server.js');
        const running = await startServer({ models, port, host: flags.host });
        // Ctrl-C or a TERM signal closes the server (handlers first: a signal may follow the first line at once).
        const stopped = new Promise<void>((resolve) => {
          const stop = () => void running.close().then(resolve);
          process.once('SIGINT', stop);
          process.once('SIGTERM', stop);
        });
        const names = running.models.map((m) => m.id).join(', ');
        console.log(`resnet serve: ${running.url}  (${running.models.length === 0 ? 'no model folders: load one in the page' : `models: ${names}`})`);
        if (!running.url.includes('127.0.0.1') && !running.url.includes('[::1]')) {
          console.log(`resnet serve: listening on ${flags.host}: other machines on the network can load these models`);
        }
        console.log('Ctrl-C stops it.');
        await stopped;
      }),
    );
}
