// `npm run serve:web`: serves web/ on http://127.0.0.1:8080/ (`-- --port N`
// for another port). WebGPU exists only in a secure context, and localhost
// is one where a file:// page is not. test/browser.test.ts serves the page
// with the same function on a port of its own.
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ROOT } from './build-web.ts';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.map': 'application/json',
  '.css': 'text/css',
};

export interface StaticServer {
  url: string;
  close(): Promise<void>;
}

/** Serves the files under `root` on 127.0.0.1 (port 0: any free one), never a path outside it. */
export function serveStatic(root: string, port = 0): Promise<StaticServer> {
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
    const file = normalize(join(root, path.endsWith('/') ? `${path}index.html` : path));
    const refuse = (code: number) => res.writeHead(code, { 'content-type': 'text/plain' }).end(`${code}\n`);
    if (file !== root && !file.startsWith(root + sep)) return refuse(403);
    stat(file).then(
      (s) => {
        if (!s.isFile()) return refuse(404);
        // no-store: a rebuilt bundle is picked up on reload.
        res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-store' });
        createReadStream(file).pipe(res);
      },
      () => refuse(404),
    );
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      const { port: bound } = server.address() as AddressInfo;
      resolve({
        url: `http://127.0.0.1:${bound}/`,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            // A browser keeps its connections open; they must not hold the server up.
            server.closeAllConnections();
          }),
      });
    });
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { values } = parseArgs({ options: { port: { type: 'string', default: '8080' } } });
  serveStatic(join(ROOT, 'web'), Number(values.port)).then(
    (s) => console.log(`serving web/ at ${s.url} (Ctrl-C stops)`),
    (e: Error) => {
      console.error(`serve:web: ${e.message}`);
      process.exit(1);
    },
  );
}
