// Alert packets (alerts.ts) as samples: each alert's cutouts, as planes
// [science, template, difference], go through the preprocessing step
// (samples.ts); its id is the candid (ZTF) or diaSourceId (Rubin), and its
// packet's facts (survey, objectId, file, the candidate's scalar fields such
// as ZTF's drb) go in the dataset's `candidates`, aligned with the ids.
//
// A packet that cannot be used is skipped, never fatal: a missing or corrupt
// cutout, no id, a step that refuses it (braai: a stamp larger than 63×63, an
// infinite pixel, an all-zero cutout; scale255: pixels outside 0..255), or a
// shape unlike the first alert's. Each is reported as it happens through
// `onSkipped(id, reason)` and listed in the dataset's `skipped`. A file that
// is not a readable Avro container of alerts is an InputError naming it.
// Alerts carry no labels: 'unlabelled'. Platform-free: bytes in.
import { InputError } from '../errors.ts';
import { readAlerts } from './alerts.ts';
import type { Dataset, SkippedSample } from './dataset.ts';
import type { PreprocessStepName } from './preprocess.ts';
import { SampleCollector } from './samples.ts';

export interface AlertFile {
  /** The file's name or path, in ids of packets without a candid and in every message. */
  name: string;
  bytes: Uint8Array;
}

export interface SkipOptions {
  /** Called for each packet left out, with its candid (or `${file}#${record}` without one) and a one-line reason naming the file. */
  onSkipped?: (id: string, reason: string) => void;
}

export interface AlertSetOptions extends SkipOptions {
  /** The step from the cutouts to the network's input ['scale255'; ZTF's braai models take 'braai' or 'braai-rows']. */
  preprocess?: PreprocessStepName;
}

/**
 * Adds each usable alert of `file` to `collector` with `label`, under the id
 * `idPrefix + candid`; reports the rest through `skip`. Returns how many
 * packets the file held.
 */
export function collectAlerts(collector: SampleCollector, file: AlertFile, label: number, idPrefix: string, skip: (skipped: SkippedSample) => void): number {
  let packets = 0;
  const alerts = readAlerts(file.bytes, file.name, {
    onBadPacket: (error, packet) => {
      packets++;
      skip({ id: packet.candid ?? `${file.name}#${packet.record}`, reason: error.message });
    },
  });
  for (const alert of alerts) {
    packets++;
    const planes = [alert.science, alert.template, alert.difference];
    try {
      collector.addPlanes(`${idPrefix}${alert.candid}`, label, planes, `${file.name}: candid ${alert.candid}`, {
        survey: alert.survey,
        objectId: alert.objectId,
        file: file.name,
        fields: alert.candidate,
      });
    } catch (e) {
      if (!(e instanceof InputError)) throw e;
      skip({ id: alert.candid, reason: e.message });
    }
  }
  return packets;
}

/** The reason a set of packets gave no sample, with a hint when every packet failed scale255. */
export function noAlertsLeft(packets: number, skipped: readonly SkippedSample[], preprocess: PreprocessStepName): string {
  if (packets === 0) return 'no alert packets in it; expected Avro files of ZTF or Rubin alerts';
  const hint =
    preprocess === 'scale255' && skipped.some((s) => s.reason.includes('scale255:')) ? "; alert cutouts are not 0..255 composites: choose a step for them, e.g. preprocess 'braai'" : '';
  if (packets === 1) return `its only alert packet could not be used (${skipped[0].reason})${hint}`;
  return `none of its ${packets} alert packets could be used (first: ${skipped[0].reason})${hint}`;
}

/** Every usable alert of `files`, in file then packet order, as an unlabelled dataset; `source` names the set (a file, folder or pattern). */
export function readAlertSet(files: readonly AlertFile[], source: string, options: AlertSetOptions = {}): Dataset {
  const collector = new SampleCollector(source, options.preprocess);
  const skipped: SkippedSample[] = [];
  const skip = (s: SkippedSample) => {
    skipped.push(s);
    options.onSkipped?.(s.id, s.reason);
  };
  let packets = 0;
  for (const file of files) packets += collectAlerts(collector, file, 0, '', skip);
  return collector.finish('unlabelled', { skipped, emptyReason: () => noAlertsLeft(packets, skipped, collector.preprocess) });
}
