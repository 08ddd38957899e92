// One consumer's side of a Redis Streams consumer group: joining it,
// reading new entries, and taking over entries that another consumer (a dead
// one, or a stuck one) has held longer than the claim timeout. Every entry
// read stays in the group's pending-entries list until the result script
// acknowledges it, so an entry is lost only if Redis loses it.
import { isNoGroup, type RedisClient } from './redis.ts';
import type { Log } from './log.ts';

/** The field of an input entry that holds the alert packet's bytes. */
export const PACKET_FIELD = 'packet';
/** A cutout record instead of a packet: these three FITS stamps (plain or gzipped), with `candid` and optionally `objectId`. */
export const CUTOUT_FIELDS = ['science', 'template', 'difference'] as const;

export interface Entry {
  id: string;
  /** The entry's fields by name: `packet`, or a cutout record's (CUTOUT_FIELDS, `candid`, `objectId`). */
  fields: ReadonlyMap<string, Buffer>;
  /** Times the group has delivered it, this delivery included (XPENDING's count). */
  deliveries: number;
}

type RawEntry = [Buffer, Buffer[] | null];

export class ConsumerGroup {
  /** Where XAUTOCLAIM's scan of the pending list goes on from; '0-0' starts over. */
  private cursor = '0-0';

  constructor(
    private readonly redis: RedisClient,
    readonly stream: string,
    readonly group: string,
    readonly consumer: string,
    private readonly log: Log,
  ) {}

  /**
   * Creates the group (and the stream) if missing. A new group starts at the
   * stream's first entry: packets replayed before the first scorer started
   * are scored, not skipped.
   */
  async join(): Promise<void> {
    try {
      await this.redis.call('XGROUP', 'CREATE', this.stream, this.group, '0', 'MKSTREAM');
    } catch (e) {
      if (!(e instanceof Error && e.message.startsWith('BUSYGROUP'))) throw e;
    }
  }

  /** Up to `count` entries never delivered before, waiting up to `blockMs` for the first (null: not waiting). */
  async read(count: number, blockMs: number | null): Promise<Entry[]> {
    const block = blockMs === null ? [] : ['BLOCK', blockMs];
    const reply = (await this.again(() => this.redis.callBuffer('XREADGROUP', 'GROUP', this.group, this.consumer, 'COUNT', count, ...block, 'STREAMS', this.stream, '>'))) as [Buffer, RawEntry[]][] | null;
    return (reply?.[0]?.[1] ?? []).map(([id, fields]) => toEntry(id, fields ?? [], 1));
  }

  /**
   * Up to `count` entries idle longer than `minIdleMs` in any consumer's
   * pending list, now this consumer's, each with its delivery count;
   * `scanned` once a scan of the whole list is done (the next call starts over).
   */
  async claim(count: number, minIdleMs: number): Promise<{ entries: Entry[]; scanned: boolean }> {
    const reply = (await this.again(() => this.redis.callBuffer('XAUTOCLAIM', this.stream, this.group, this.consumer, minIdleMs, this.cursor, 'COUNT', count))) as [Buffer, RawEntry[], Buffer[]?];
    this.cursor = reply[0].toString();
    // Entries deleted from the stream (trimmed) while pending: XAUTOCLAIM has dropped them from the list.
    const gone = reply[2]?.length ?? 0;
    if (gone > 0) this.log('warn', 'claimed_deleted', { entries: gone });
    // Redis 6.2 returns those with nil fields instead.
    const live = reply[1].filter((r): r is [Buffer, Buffer[]] => r[1] !== null);
    const counts = await Promise.all(live.map(([id]) => this.deliveries(id.toString())));
    return { entries: live.map(([id, fields], i) => toEntry(id, fields, counts[i])), scanned: this.cursor === '0-0' };
  }

  /** Entries this consumer holds (0 once everything it read is acknowledged). */
  async pendingHere(): Promise<number> {
    const reply = (await this.redis.call('XPENDING', this.stream, this.group, '-', '+', 1, this.consumer)) as unknown[];
    return reply.length;
  }

  /** Removes this consumer from the group; only when it holds nothing, which would be dropped with it. */
  async leave(): Promise<boolean> {
    if ((await this.pendingHere()) > 0) return false;
    await this.redis.call('XGROUP', 'DELCONSUMER', this.stream, this.group, this.consumer);
    return true;
  }

  private async deliveries(id: string): Promise<number> {
    const reply = (await this.redis.call('XPENDING', this.stream, this.group, id, id, 1)) as [string, string, number, number][];
    return reply[0]?.[3] ?? 1;
  }

  /** Runs a read; if the group is gone (the server lost its data), creates it again and retries once. */
  private async again<T>(read: () => Promise<T>): Promise<T> {
    try {
      return await read();
    } catch (e) {
      if (!isNoGroup(e)) throw e;
      this.log('warn', 'group_recreated', { stream: this.stream, group: this.group });
      await this.join();
      return read();
    }
  }
}

function toEntry(id: Buffer, fields: Buffer[], deliveries: number): Entry {
  const byName = new Map<string, Buffer>();
  for (let i = 0; i + 1 < fields.length; i += 2) byName.set(fields[i].toString(), fields[i + 1]);
  return { id: id.toString(), fields: byName, deliveries };
}

/** A group's pending entries (delivered, not yet acknowledged) and lag (not yet delivered), from XINFO GROUPS. */
export async function groupBacklog(redis: RedisClient, stream: string, group: string): Promise<{ pending: number; lag: number | null }> {
  const groups = (await redis.call('XINFO', 'GROUPS', stream)) as unknown[][];
  for (const g of groups) {
    const info = new Map<string, unknown>();
    for (let i = 0; i + 1 < g.length; i += 2) info.set(String(g[i]), g[i + 1]);
    if (info.get('name') !== group) continue;
    const lag = info.get('lag');
    return { pending: Number(info.get('pending')), lag: typeof lag === 'number' ? lag : null };
  }
  return { pending: 0, lag: null };
}
