// `handscan replay`: push alert packets from files into a Redis stream, one
// entry per alert, at a target rate or as fast as the server takes them.
import { UsageError } from '../../errors.ts';
import { numberOption, parseOptions, type Command } from '../command.ts';
import { jsonLog } from '../../stream/log.ts';
import { packetFiles, packetsOf } from '../../stream/packets.ts';
import { connectRedis, redisUrl } from '../../stream/redis.ts';
import { replay } from '../../stream/replay.ts';

const help = `handscan replay: push alert packets into a Redis stream, one entry per alert

usage: tsx src/train/main.ts replay --redis URL --stream IN --data PATH [options]

options:
  --redis URL     redis://[user:password@]host[:port][/db], rediss:// for TLS (any node of a cluster)
  --stream IN     the stream to add to (created if missing); each entry's field 'packet' holds
                  one alert's Avro container bytes, as \`handscan serve\` reads them
  --data PATH     an .avro alert packet file, a folder of them, or a quoted glob ('night/*.avro')
  --rate R        entries per second [as fast as possible]
  --loop K        push the packets K times over [1]; candids repeat from one pass to the next
                  (the scorers score each entry; the latest-result hash keeps one per candid)

A file that holds one alert is pushed as it is; one that holds several, as one container per
alert with the file's schema. A file that is not an Avro container stops the replay before
anything is pushed.`;

async function run(argv: string[]): Promise<void> {
  const { values } = parseOptions('replay', argv, {
    redis: { type: 'string' },
    stream: { type: 'string' },
    data: { type: 'string' },
    rate: { type: 'string' },
    loop: { type: 'string' },
  });
  for (const required of ['redis', 'stream', 'data'] as const) {
    if (!values[required]) throw new UsageError(`replay: --${required} is required (see \`handscan replay --help\`)`);
  }
  const url = redisUrl('replay', values.redis!);
  const rate = values.rate === undefined ? null : numberOption('replay', 'rate', values.rate, 0, (v) => v > 0 && v <= 1e6, 'entries per second in (0, 1000000]');
  const loop = numberOption('replay', 'loop', values.loop, 1, (v) => Number.isInteger(v) && v >= 1, 'a positive integer');
  const packets: Buffer[] = [];
  for (const file of packetFiles(values.data!)) packets.push(...(await packetsOf(file)));
  const redis = await connectRedis('replay', url, 'handscan-replay', jsonLog({ command: 'replay' }));
  try {
    const { entries, seconds } = await replay(redis.client, values.stream!, packets, { rate, loop });
    console.log(`replay: ${entries.toLocaleString('en-US')} entries (${loop === 1 ? '' : `${loop} passes over `}${packets.length.toLocaleString('en-US')} packets from ${values.data}) to ${values.stream} in ${seconds.toFixed(2)} s (${(entries / seconds).toFixed(0)}/s)`);
  } finally {
    await redis.close();
  }
}

const command: Command = { name: 'replay', help, run };
export default command;
