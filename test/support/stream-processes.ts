// The processes a stream test starts (redis-server and `handscan serve`),
// stopped after each test whatever its outcome, and a poll for what they
// should reach. Apart from scorers.ts, which the benchmark uses outside vitest.
import { afterEach } from 'vitest';
import { startRedis, type RedisServer } from './redis.ts';
import { startScorer, type ScorerProcess } from './scorers.ts';

/** The Redis servers and scorers a test starts, all stopped after it, pass or fail. */
export function useStreamProcesses(): { redis(options?: { cluster?: boolean }): Promise<RedisServer>; scorer(name: string, args: string[], env?: Record<string, string>): ScorerProcess } {
  let servers: RedisServer[] = [];
  let scorers: ScorerProcess[] = [];
  afterEach(async () => {
    for (const s of scorers) s.proc.kill('SIGKILL');
    await Promise.all(scorers.map((s) => s.exited));
    await Promise.all(servers.map((s) => s.stop()));
    [servers, scorers] = [[], []];
  });
  return {
    async redis(options = {}) {
      const server = await startRedis(options);
      servers.push(server);
      return server;
    },
    scorer(name, args, env = {}) {
      const s = startScorer(name, args, env);
      scorers.push(s);
      return s;
    },
  };
}

/** Polls `check` every 100 ms; past `timeoutMs`, fails naming `what` and, when given, the `state` it was in. */
export async function until(what: string, check: () => Promise<boolean>, timeoutMs = 150_000, state?: () => Promise<string>): Promise<void> {
  const t0 = Date.now();
  while (!(await check())) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${state ? `: ${await state()}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
