// Pushing packets into a stream at a target rate, as a broker would: the
// load generator of the tests and the benchmark. Each entry is XADDed with
// the packet in its `packet` field; at a rate, entry i goes out at i / rate
// seconds from the start, so that a slow moment is caught up rather than
// lowering the rate.
import { PACKET_FIELD } from './group.ts';
import type { RedisClient } from './redis.ts';

/** Entries in flight at once when pushing as fast as possible. */
const WINDOW = 64;

export interface ReplayOptions {
  /** Entries per second; null: as fast as the server takes them. */
  rate: number | null;
  /** Passes over the packets: candids repeat from one pass to the next. */
  loop: number;
}

/** Pushes every packet `loop` times; resolves to the entries written and the seconds it took. */
export async function replay(redis: RedisClient, stream: string, packets: readonly Buffer[], { rate, loop }: ReplayOptions): Promise<{ entries: number; seconds: number }> {
  const total = packets.length * loop;
  const t0 = performance.now();
  for (let sent = 0; sent < total; ) {
    const due = rate === null ? total : Math.min(total, Math.floor(((performance.now() - t0) / 1000) * rate) + 1);
    if (due <= sent) {
      await new Promise((r) => setTimeout(r, Math.max(1, ((sent / rate!) * 1000) - (performance.now() - t0))));
      continue;
    }
    const upTo = Math.min(due, sent + WINDOW);
    const writes: Promise<unknown>[] = [];
    for (let i = sent; i < upTo; i++) writes.push(redis.call('XADD', stream, '*', PACKET_FIELD, packets[i % packets.length]));
    await Promise.all(writes);
    sent = upTo;
  }
  return { entries: total, seconds: (performance.now() - t0) / 1000 };
}
