// A real redis-server for the stream tests and the benchmark: on a free
// localhost port, in a temporary folder, with the append-only file on and
// RDB snapshots off (as a scorer's Redis should run: every write logged
// before it is acknowledged), in the foreground, never as a system service.
// kill() is SIGKILL (a crash), restart() starts it again from its AOF on the
// same port, stop() ends it and removes the folder.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';

export interface RedisServer {
  port: number;
  url: string;
  dir: string;
  /** SIGKILL: what a crash or an OOM kill does. */
  kill(): Promise<void>;
  /** Starts it again on the same port and folder: it loads its AOF. */
  restart(): Promise<void>;
  stop(): Promise<void>;
  /** A client for the test's own reads and writes (RESP2, as the scorers speak). */
  client(): Redis;
}

const READY = /Ready to accept connections/;
const START_TIMEOUT_MS = 15_000;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Starts a server; `cluster` makes it a one-node Redis Cluster holding every slot. */
export async function startRedis(options: { cluster?: boolean } = {}): Promise<RedisServer> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'handscan-redis-'));
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--save', '', '--daemonize', 'no'];
  // A lone node knows no address of its own to announce; clients need one.
  if (options.cluster) args.push('--cluster-enabled', 'yes', '--cluster-config-file', join(dir, 'nodes.conf'), '--cluster-announce-ip', '127.0.0.1');
  let proc: ChildProcess | null = null;
  const clients: Redis[] = [];
  const launch = () =>
    new Promise<void>((resolve, reject) => {
      const p = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
      proc = p;
      let output = '';
      const timer = setTimeout(() => reject(new Error(`redis-server on port ${port} not ready after ${START_TIMEOUT_MS} ms:\n${output}`)), START_TIMEOUT_MS);
      const watch = (d: Buffer) => {
        output += d;
        if (READY.test(output)) {
          clearTimeout(timer);
          resolve();
        }
      };
      p.stdout!.on('data', watch);
      p.stderr!.on('data', watch);
      p.once('error', (e) => reject(new Error(`cannot start redis-server (${e.message}): run \`npm run setup\`, which installs it`)));
      p.once('exit', (code) => {
        clearTimeout(timer);
        if (!READY.test(output)) reject(new Error(`redis-server exited with ${code}:\n${output}`));
      });
    });
  const exit = (signal: NodeJS.Signals) =>
    new Promise<void>((resolve) => {
      const p = proc;
      if (p === null || p.exitCode !== null || p.signalCode !== null) return resolve();
      p.once('exit', () => resolve());
      p.kill(signal);
    });
  await launch();
  const server: RedisServer = {
    port,
    url: `redis://127.0.0.1:${port}`,
    dir,
    kill: () => exit('SIGKILL'),
    restart: launch,
    async stop() {
      for (const c of clients) c.disconnect();
      await exit('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
    client() {
      const c = new Redis(port, '127.0.0.1', { protocol: 2, maxRetriesPerRequest: null });
      // While the server is down (kill, restart) the client retries; the refusals are expected.
      c.on('error', () => undefined);
      clients.push(c);
      return c;
    },
  };
  if (options.cluster) await claimEverySlot(server.client());
  return server;
}

async function claimEverySlot(c: Redis): Promise<void> {
  await c.call('CLUSTER', 'ADDSLOTSRANGE', 0, 16383);
  for (let i = 0; i < 100; i++) {
    if (/cluster_state:ok/.test(String(await c.call('CLUSTER', 'INFO')))) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the one-node cluster did not reach cluster_state:ok');
}
