// Connections to Redis (or Valkey, which speaks the same protocol), alone or
// as a Cluster. At start-up a server that cannot be reached is a one-line
// error; once running, a lost connection is retried with backoff for as long
// as it takes (a restart, a failover), and commands wait for it instead of
// failing: ioredis queues them offline and resends the ones that were in
// flight. Resent commands are safe here: reads are re-issued reads, and the
// write script acknowledges before it writes (results.ts).
import { Cluster, Redis } from 'ioredis';
import { InputError, UsageError } from '../errors.ts';
import { errorText, type Log } from './log.ts';

/** The commands this service uses, the same on a single server and a cluster. */
export interface RedisClient {
  call(command: string, ...args: (string | Buffer | number)[]): Promise<unknown>;
  /** Replies as Buffers: the packets are binary. */
  callBuffer(command: string, ...args: (string | Buffer | number)[]): Promise<unknown>;
}

export interface Connection {
  client: RedisClient;
  /** Whether the server is a Redis Cluster node (then keys must share a slot: keys.ts). */
  cluster: boolean;
  /** Waits for replies in flight (a while, if the server is down), then closes. */
  close(): Promise<void>;
}

const RETRY_FIRST_MS = 100;
const RETRY_MAX_MS = 2_000;
const CONNECT_TIMEOUT_MS = 5_000;
const CLOSE_WAIT_MS = 2_000;
/** RESP2: the replies' shapes the Redis documentation gives, from every server version (ioredis 6 asks for RESP3 by default). */
const RESP = 2;

/** --redis: redis://[user:password@]host[:port][/db], or rediss:// for TLS. */
export function redisUrl(command: string, value: string): URL {
  let url: URL | null = null;
  try {
    url = new URL(value);
  } catch {
    // Reported below.
  }
  if (url === null || !['redis:', 'rediss:'].includes(url.protocol) || url.hostname === '') {
    throw new UsageError(`${command}: --redis must be a URL like redis://127.0.0.1:6379 (rediss:// for TLS), got '${value}'`);
  }
  return url;
}

/** The URL without its password, for messages. */
export function shownUrl(url: URL): string {
  const shown = new URL(url.href);
  if (shown.password) shown.password = '***';
  return shown.href.replace(/\/$/, '');
}

/**
 * Connects as `name` (the server's CLIENT LIST shows it). Asks the server
 * whether it is a cluster node and, if so, reconnects through ioredis's
 * Cluster client, which follows the slots.
 */
export async function connectRedis(command: string, url: URL, name: string, log: Log): Promise<Connection> {
  let running = false;
  let lastError: Error | null = null;
  const retry = (times: number) => (running ? Math.min(RETRY_FIRST_MS * 2 ** Math.min(times - 1, 10), RETRY_MAX_MS) : null);
  const watch = (client: Redis | Cluster) => {
    let down = false;
    client.on('error', (e: Error) => {
      lastError = e;
      if (running) log('warn', 'redis_error', { connection: name, error: errorText(e) });
    });
    client.on('reconnecting', (delay: number) => {
      down = true;
      log('warn', 'redis_reconnecting', { connection: name, delay_ms: delay });
    });
    client.on('ready', () => {
      if (down) log('info', 'redis_reconnected', { connection: name });
      down = false;
    });
  };
  const unreachable = (e: unknown) => new InputError(`${command}: cannot reach Redis at ${shownUrl(url)}: ${errorText(lastError ?? e)}`);

  const single = new Redis(url.href, {
    lazyConnect: true,
    connectionName: name,
    connectTimeout: CONNECT_TIMEOUT_MS,
    maxRetriesPerRequest: null,
    retryStrategy: retry,
    protocol: RESP,
  });
  watch(single);
  let clusterInfo: string;
  try {
    await single.connect();
    clusterInfo = String(await single.call('INFO', 'cluster'));
  } catch (e) {
    single.disconnect();
    throw unreachable(e);
  }
  if (!/^cluster_enabled:1/m.test(clusterInfo)) {
    running = true;
    return { client: single, cluster: false, close: () => closeGently(single) };
  }

  single.disconnect();
  const cluster = new Cluster([{ host: url.hostname, port: Number(url.port || 6379) }], {
    lazyConnect: true,
    clusterRetryStrategy: retry,
    redisOptions: {
      connectionName: name,
      connectTimeout: CONNECT_TIMEOUT_MS,
      maxRetriesPerRequest: null,
      protocol: RESP,
      username: decodeURIComponent(url.username) || undefined,
      password: decodeURIComponent(url.password) || undefined,
      tls: url.protocol === 'rediss:' ? {} : undefined,
    },
  });
  watch(cluster);
  try {
    // ioredis's Cluster can wait for ever on nodes it cannot use (one announcing no address, say).
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      cluster.connect(),
      new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`no cluster node usable after ${CONNECT_TIMEOUT_MS} ms (CLUSTER SLOTS names none that answers)`)), CONNECT_TIMEOUT_MS))),
    ]).finally(() => clearTimeout(timer));
  } catch (e) {
    cluster.disconnect();
    throw unreachable(e);
  }
  running = true;
  return { client: cluster, cluster: true, close: () => closeGently(cluster) };
}

/** QUIT lets replies in flight arrive; a server that is down gets CLOSE_WAIT_MS, then the socket is closed. */
async function closeGently(client: Redis | Cluster): Promise<void> {
  await Promise.race([client.quit().catch(() => undefined), new Promise((r) => setTimeout(r, CLOSE_WAIT_MS).unref())]);
  client.disconnect();
}

/** Whether a command failed because the consumer group (or its stream) is gone: the server lost its data. */
export const isNoGroup = (e: unknown): boolean => e instanceof Error && e.message.startsWith('NOGROUP');
