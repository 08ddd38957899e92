// `handscan serve`: a scorer in a Redis Streams consumer group. Any number
// of them share a stream; each reads alert packets, scores them on its GPU
// as `predict` would, writes the results and acknowledges (src/stream/).
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { basename, extname } from 'node:path';
import { NETWORK_STEPS } from '../../data/samples.ts';
import { DEFAULT_INFERENCE_BATCH } from '../../kernels/engine.ts';
import { UsageError } from '../../errors.ts';
import { numberOption, parseOptions, type Command } from '../command.ts';
import { MODEL_CHOICES } from '../model-choice.ts';
import { loadScoring, scoringChoices } from '../scoring.ts';
import { ConsumerGroup } from '../../stream/group.ts';
import { checkOneSlot, streamKeys } from '../../stream/keys.ts';
import { errorText, jsonLog } from '../../stream/log.ts';
import { Metrics, serveMetrics } from '../../stream/metrics.ts';
import { connectRedis, redisUrl, shownUrl } from '../../stream/redis.ts';
import { ResultWriter } from '../../stream/results.ts';
import { Scorer } from '../../stream/scorer.ts';
import { ScoringService } from '../../stream/service.ts';

/** predict's batch: on a CPU device a large batch scores faster per alert, and --max-wait-ms bounds the wait to fill it. */
const DEFAULT_BATCH = DEFAULT_INFERENCE_BATCH;
const DEFAULT_MAX_WAIT_MS = 200;
const DEFAULT_CLAIM_IDLE_MS = 30_000;
const DEFAULT_MAX_DELIVERIES = 5;

const help = `handscan serve: score alert packets from a Redis stream, as one consumer of a group

usage: tsx src/train/main.ts serve --weights FILE --redis URL --stream IN --group G [options]

options:
  --weights FILE          a Handscan checkpoint or a Keras 2 HDF5 file, as for predict
  --redis URL             redis://[user:password@]host[:port][/db], rediss:// for TLS; a Redis or
                          Valkey server, or any node of a Redis Cluster
  --stream IN             the input stream: one alert packet (Avro container bytes) per entry, in
                          the field 'packet'; created with the group if missing
  --group G               the consumer group (created at the stream's first entry if missing)
  --consumer NAME         this scorer's name in the group [<hostname>-<pid>]
  --out-stream OUT        where results go, one entry per alert [IN:scores]; the hash OUT:latest
                          holds the latest result per candid, as JSON
  --dead-letter STREAM    packets that cannot be scored, with the error and the packet [IN:dead]
  --batch N               entries per GPU batch, at most [${DEFAULT_BATCH}]
  --max-wait-ms T         after the first entry of a batch, wait at most this long for more [${DEFAULT_MAX_WAIT_MS}]
  --preprocess NAME       ${NETWORK_STEPS.join(', ')} [the checkpoint's own, else scale255]
  --model NAME|FILE.json  the architecture when the file has no model_config: ${MODEL_CHOICES} [initial]
  --claim-idle-ms I       take over entries another consumer has held this long (XAUTOCLAIM) [${DEFAULT_CLAIM_IDLE_MS}]
  --max-deliveries K      dead-letter an entry delivered more than K times [${DEFAULT_MAX_DELIVERIES}]
  --metrics-port P        serve Prometheus metrics at http://127.0.0.1:P/metrics (0: any free port,
                          named in the 'ready' log line) [none]

Each result has candid, objectId, p_real (a sigmoid model) or p_<class>, model, model_sha256,
preprocess, drb and drbversion where the packet has them, entry (the input entry's id),
consumer and latency_ms (from the entry's id time to the write, on the server's clock).
Results, dead letters and the acknowledgement are written together by one script, and only
for entries not acknowledged yet: the output stream gets one result per entry and alert, even
when a slow scorer's entries were claimed and scored twice. Logs are JSON lines on stderr.
SIGTERM or SIGINT: finish the batch in hand, write, acknowledge, leave the group, exit 0
(SIGKILL stops it at once: its entries stay pending, and the other scorers claim them).`;

async function run(argv: string[]): Promise<void> {
  const { values } = parseOptions('serve', argv, {
    weights: { type: 'string' },
    redis: { type: 'string' },
    stream: { type: 'string' },
    group: { type: 'string' },
    consumer: { type: 'string' },
    'out-stream': { type: 'string' },
    'dead-letter': { type: 'string' },
    batch: { type: 'string' },
    'max-wait-ms': { type: 'string' },
    preprocess: { type: 'string' },
    model: { type: 'string' },
    'claim-idle-ms': { type: 'string' },
    'max-deliveries': { type: 'string' },
    'metrics-port': { type: 'string' },
  });
  for (const required of ['weights', 'redis', 'stream', 'group'] as const) {
    if (!values[required]) throw new UsageError(`serve: --${required} is required (see \`handscan serve --help\`)`);
  }
  const url = redisUrl('serve', values.redis!);
  const int = (name: string, fallback: number, min: number, max: number) =>
    numberOption('serve', name, values[name as keyof typeof values], fallback, (v) => Number.isInteger(v) && v >= min && v <= max, `an integer in ${min}..${max}`);
  const batch = int('batch', DEFAULT_BATCH, 1, 4096);
  const maxWaitMs = int('max-wait-ms', DEFAULT_MAX_WAIT_MS, 0, 60_000);
  const claimIdleMs = int('claim-idle-ms', DEFAULT_CLAIM_IDLE_MS, 1, 86_400_000);
  const maxDeliveries = int('max-deliveries', DEFAULT_MAX_DELIVERIES, 1, 1_000_000);
  const metricsPort = values['metrics-port'] === undefined ? null : int('metrics-port', 0, 0, 65_535);
  const choices = scoringChoices('serve', values);
  const keys = streamKeys(values.stream!, values['out-stream'], values['dead-letter']);
  const consumer = values.consumer ?? `${hostname()}-${process.pid}`;
  const log = jsonLog({ consumer });
  // Redis refuses a client name with spaces; the consumer's name may have them.
  const connection = `handscan-serve-${consumer.replace(/\s+/g, '_')}`;

  const scoring = await loadScoring(values.weights!, choices);
  const model = { label: basename(values.weights!, extname(values.weights!)), sha256: createHash('sha256').update(readFileSync(values.weights!)).digest('hex') };
  // Undone in reverse on the way out, whatever failed: an open connection or device keeps the process alive.
  const closing: (() => Promise<void> | void)[] = [];
  try {
    const reader = await connectRedis('serve', url, `${connection}-read`, log);
    closing.push(() => reader.close());
    const writer = await connectRedis('serve', url, `${connection}-write`, log);
    closing.push(() => writer.close());
    if (reader.cluster) checkOneSlot('serve', keys);
    const group = new ConsumerGroup(reader.client, keys.input, values.group!, consumer, log);
    await group.join();
    const scorer = await Scorer.open(scoring, batch, log);
    closing.push(() => scorer.destroy());
    const metrics = new Metrics(batch);
    let metricsUrl: string | null = null;
    if (metricsPort !== null) {
      const { server, port } = await serveMetrics(metrics, metricsPort);
      closing.push(() => new Promise<void>((r) => server.close(() => r())));
      metricsUrl = `http://127.0.0.1:${port}/metrics`;
    }
    const service = new ScoringService(group, writer.client, new ResultWriter(writer.client, keys, values.group!), scorer, scoring, metrics, log, {
      keys, consumer, batch, maxWaitMs, claimIdleMs, maxDeliveries, model,
    });
    // A wrapper (npx) forwards the terminal's Ctrl-C that the process gets too: every signal just asks for a stop.
    const onSignal = (signal: NodeJS.Signals) => {
      log('info', 'stopping', { signal });
      service.stop();
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    log('info', 'ready', { redis: shownUrl(url), cluster: reader.cluster, stream: keys.input, group: values.group, out_stream: keys.output, latest: keys.latest, dead_letter: keys.deadLetter, adapter: scorer.adapter, model: model.label, model_sha256: model.sha256, preprocess: scoring.step, batch, metrics: metricsUrl });
    try {
      await service.run();
    } catch (e) {
      log('error', 'failed', { error: errorText(e) });
      throw e;
    }
    const left = await group.leave();
    log('info', 'stopped', { alerts: metrics.alerts, dead_lettered: metrics.deadLettered, left_group: left });
  } finally {
    for (const undo of closing.reverse()) await undo();
  }
}

const command: Command = { name: 'serve', help, run };
export default command;
