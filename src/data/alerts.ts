// Alert packets from ZTF and Rubin: Avro container files whose records each
// hold a candidate's measurements and three FITS cutouts (science, template,
// difference). The survey is told from the writer's schema by its field
// names, not its name or version, so ZTF's schema versions, Fink's
// re-serialised ZTF records and each lsst.v*_*.alert read alike:
// - ZTF (`ztf.alert`): `candid`, `objectId`, record `candidate`, and each
//   cutout a record whose `stampData` holds a gzipped FITS file;
// - Rubin (`lsst.v7_x.alert` and later): record `diaSource` (with
//   `diaSourceId`), and each cutout plain FITS bytes, gzipped or not.
// Platform-free: bytes in, no file system.
import type { Type, types } from 'avsc';
import { InputError } from '../errors.ts';
import { readAvroContainer } from './avro-container.ts';
import { readFits } from './fits.ts';

export type Survey = 'ztf' | 'rubin';

export interface Cutout {
  data: Float32Array;
  /** [rows, cols]: 63×63 for ZTF, smaller where the candidate is near a CCD's edge. */
  shape: [number, number];
}

/** A long past 2^53 is kept exactly, as a decimal string. */
export type CandidateValue = number | string | boolean | null;

export interface Alert {
  survey: Survey;
  /** ZTF's candid or Rubin's diaSourceId, in decimal: both are 64-bit integers, beyond float64's exact range. */
  candid: string;
  /** ZTF's objectId, or Rubin's diaObjectId (else ssObjectId) in decimal; '' when a Rubin source has neither. */
  objectId: string;
  science: Cutout;
  template: Cutout;
  difference: Cutout;
  /** The scalar fields of ZTF's candidate or Rubin's diaSource (ra, dec, magpsf, drb, ...), by their schema names. */
  candidate: Record<string, CandidateValue>;
}

export interface ReadAlertsOptions {
  /**
   * Receives each packet that cannot be used (a missing or corrupt cutout,
   * no id), which is then skipped, with its place in the file and its candid
   * (ZTF) or diaSourceId (Rubin) when it has one. Without it the first such
   * packet throws.
   */
  onBadPacket?: (error: InputError, packet: { record: number; candid?: string }) => void;
}

const CUTOUTS = { science: 'cutoutScience', template: 'cutoutTemplate', difference: 'cutoutDifference' } as const;
const EXPECTED = "a ZTF alert (candid, objectId, candidate) or a Rubin alert (diaSource), with cutoutScience, cutoutTemplate and cutoutDifference";

type AvroRecord = Record<string, unknown>;

/** Every alert in an Avro container file; name is the file's name in error messages, each of which is one line. */
export function readAlerts(bytes: Uint8Array, name: string, options: ReadAlertsOptions = {}): Alert[] {
  const { type, records } = readAvroContainer(bytes, name);
  const survey = surveyOf(type, name);
  const alerts: Alert[] = [];
  for (const [i, record] of (records as AvroRecord[]).entries()) {
    try {
      alerts.push(toAlert(record, survey, name, i));
    } catch (e) {
      if (!(e instanceof InputError) || options.onBadPacket === undefined) throw e;
      options.onBadPacket(e, { record: i, candid: packetId(record, survey) });
    }
  }
  return alerts;
}

/** The survey whose field names the writer's schema has; anything else is refused before a record is read. */
function surveyOf(type: Type, name: string): Survey {
  const fail = (what: string): never => {
    throw new InputError(`${name}: ${what}; expected ${EXPECTED}`);
  };
  const record = type.typeName === 'record' ? (type as types.RecordType) : fail(`the schema is a ${type.typeName}, not a record`);
  const has = (field: string) => record.fields.some((f) => f.name === field);
  const survey: Survey = has('candidate') ? 'ztf' : has('diaSource') ? 'rubin' : fail(`schema '${type.name}' has neither a 'candidate' nor a 'diaSource' field`);
  const required = survey === 'ztf' ? ['candid', 'objectId', ...Object.values(CUTOUTS)] : Object.values(CUTOUTS);
  for (const field of required) if (!has(field)) fail(`schema '${type.name}' has no field '${field}'`);
  if (survey === 'rubin') {
    const source = record.field('diaSource').type;
    if (source.typeName !== 'record' || !(source as types.RecordType).fields.some((f) => f.name === 'diaSourceId')) {
      fail(`schema '${type.name}' has a 'diaSource' without a 'diaSourceId'`);
    }
  }
  return survey;
}

/** The packet's candid (ZTF) or diaSourceId (Rubin) in decimal, if it has one. */
function packetId(record: AvroRecord, survey: Survey): string | undefined {
  const id = survey === 'ztf' ? record.candid : (record.diaSource as AvroRecord | null)?.diaSourceId;
  return typeof id === 'bigint' || typeof id === 'number' ? String(id) : undefined;
}

function toAlert(record: AvroRecord, survey: Survey, name: string, index: number): Alert {
  const measured = (survey === 'ztf' ? record.candidate : record.diaSource) as AvroRecord | null;
  const id = survey === 'ztf' ? record.candid : measured?.diaSourceId;
  if (measured === null || (typeof id !== 'bigint' && typeof id !== 'number')) {
    throw new InputError(`${name}: record ${index} has no ${survey === 'ztf' ? 'candid and candidate' : 'diaSource'}; expected ${EXPECTED}`);
  }
  const candid = String(id);
  const objectId = survey === 'ztf' ? record.objectId : (measured.diaObjectId ?? measured.ssObjectId);
  const cutout = (field: string) => readCutout(record[field], `${name}: candid ${candid} ${field}`);
  return {
    survey,
    candid,
    objectId: objectId === null || objectId === undefined ? '' : String(objectId),
    science: cutout(CUTOUTS.science),
    template: cutout(CUTOUTS.template),
    difference: cutout(CUTOUTS.difference),
    candidate: scalars(measured),
  };
}

/** A cutout field's first 2-D image: ZTF's record holds the FITS bytes in stampData, Rubin's field holds them itself (plain or gzipped FITS). */
export function readCutout(value: unknown, where: string): Cutout {
  const stamp = value instanceof Uint8Array ? value : (value as { stampData?: unknown } | null)?.stampData;
  if (!(stamp instanceof Uint8Array)) throw new InputError(`${where} is missing; expected a FITS stamp`);
  // Rubin's cutouts may keep the image in an extension after an empty primary HDU, with mask and variance after it.
  const image = readFits(stamp, where).find((hdu) => hdu.shape.length === 2 && hdu.data.length > 0);
  if (image === undefined) throw new InputError(`${where}: no 2-D image in the FITS stamp; expected one`);
  return {
    data: image.data instanceof Float32Array ? image.data : Float32Array.from(image.data),
    shape: [image.shape[0], image.shape[1]],
  };
}

/** The record's numbers, strings, logicals and nulls, longs as numbers while exact; nested values are left out. */
function scalars(record: AvroRecord): Record<string, CandidateValue> {
  const out: Record<string, CandidateValue> = {};
  for (const [key, value] of Object.entries(record)) {
    if (typeof value === 'bigint') out[key] = Number.isSafeInteger(Number(value)) ? Number(value) : String(value);
    else if (value === null || typeof value === 'number' || typeof value === 'string' || typeof value === 'boolean') out[key] = value;
  }
  return out;
}
