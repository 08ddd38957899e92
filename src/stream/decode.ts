// An input entry's packet as samples, read as `predict` reads an .avro file
// (alert-dataset.ts's collectAlerts: Avro, the three FITS cutouts, the
// preprocessing step), or its cutout record (three FITS stamps and a candid,
// for producers that do not write Avro), with what could not be used and
// why: a packet that is not an Avro container of alerts, a missing or corrupt
// cutout, a step that refuses it, a shape the network does not take. Those go to the dead-letter
// stream; nothing here throws for a bad packet.
import { collectAlerts } from '../data/alert-dataset.ts';
import type { Dataset } from '../data/dataset.ts';
import type { PreprocessStepName } from '../data/preprocess.ts';
import { SampleCollector } from '../data/samples.ts';
import { InputError } from '../errors.ts';
import { readCutout } from '../data/alerts.ts';
import { CUTOUT_FIELDS, PACKET_FIELD, type Entry } from './group.ts';
import { errorText } from './log.ts';

export interface DeadAlert {
  /** The alert's candid, `${entry name}#${record}` for a record without one, or '' when the whole packet is unreadable. */
  alert: string;
  /** One line, naming the entry. */
  error: string;
}

export interface DecodedEntry {
  entry: Entry;
  /** The entry's usable alerts (ids are candids, with their packet facts), or null when none is. */
  samples: Dataset | null;
  dead: DeadAlert[];
}

/** Busy time, summed over entries: reading packets (Avro, gunzip, FITS) and the preprocessing step. */
export interface DecodeTimes {
  decodeMs: number;
  preprocessMs: number;
}

/** A collector that times its step, so that decoding and preprocessing show apart in the figures. */
class TimedCollector extends SampleCollector {
  stepMs = 0;
  override addPlanes(...args: Parameters<SampleCollector['addPlanes']>): void {
    const t0 = performance.now();
    try {
      super.addPlanes(...args);
    } finally {
      this.stepMs += performance.now() - t0;
    }
  }
}

/**
 * The alerts of one entry of `stream` through `step`. `refuse` says why the
 * network cannot take the samples (another shape), or null; what it throws
 * (a checkpoint that does not fit) is the scorer's failure, not the packet's.
 */
export function decodeEntry(entry: Entry, stream: string, step: PreprocessStepName, times: DecodeTimes, refuse: (samples: Dataset) => string | null): DecodedEntry {
  const name = `${stream} entry ${entry.id}`;
  const whole = (error: string): DecodedEntry => ({ entry, samples: null, dead: [{ alert: '', error }] });
  const packet = entry.fields.get(PACKET_FIELD);
  const record = CUTOUT_FIELDS.every((f) => entry.fields.has(f));
  if (packet === undefined && !record) {
    return whole(`${name}: has neither a '${PACKET_FIELD}' field nor the fields ${CUTOUT_FIELDS.map((f) => `'${f}'`).join(', ')}; expected an Avro alert packet or a cutout record`);
  }
  const t0 = performance.now();
  const collector = new TimedCollector(name, step);
  const dead: DeadAlert[] = [];
  let packets: number;
  try {
    packets = packet !== undefined ? collectAlerts(collector, { name, bytes: packet }, 0, '', (s) => dead.push({ alert: s.id, error: s.reason })) : collectRecord(collector, entry, name, dead);
  } catch (e) {
    // An unreadable container (InputError), or bytes the readers did not foresee: this packet's failure, not the scorer's.
    return whole(e instanceof InputError ? e.message : `${name}: ${errorText(e)}`);
  } finally {
    times.preprocessMs += collector.stepMs;
    times.decodeMs += performance.now() - t0 - collector.stepMs;
  }
  if (packets === 0) return whole(`${name}: no alert packets in it; expected an Avro container of ZTF or Rubin alerts`);
  if (collector.size === 0) return { entry, samples: null, dead };
  const samples = collector.finish('unlabelled');
  const refused = refuse(samples);
  if (refused === null) return { entry, samples, dead };
  return { entry, samples: null, dead: [...dead, ...samples.ids.map((alert) => ({ alert, error: refused }))] };
}

/**
 * A cutout record as one sample: its science, template and difference
 * stamps as the planes of an alert, its `candid` (else the entry's id) and
 * `objectId` as a packet's. Returns 1, the records it held; a bad stamp or a
 * step that refuses it is this record's dead letter.
 */
function collectRecord(collector: SampleCollector, entry: Entry, name: string, dead: DeadAlert[]): number {
  const text = (field: string) => entry.fields.get(field)?.toString();
  const candid = text('candid') ?? entry.id;
  const where = `${name}: candid ${candid}`;
  try {
    const planes = CUTOUT_FIELDS.map((f) => readCutout(new Uint8Array(entry.fields.get(f)!), `${where}: ${f}`));
    collector.addPlanes(candid, 0, planes, where, { survey: null, objectId: text('objectId') ?? '', file: name, fields: {} });
  } catch (e) {
    if (!(e instanceof InputError)) throw e;
    dead.push({ alert: candid, error: e.message });
  }
  return 1;
}
