// The labels file of `handscan scan`: JSON lines, one per label a scanner
// gave (scan-choices.ts's ScanLabel), appended and fsynced before the page is
// told "saved", and read back as the latest line per id.
//
// A process killed mid-write leaves at most a torn last line, which was
// never answered "saved": reading ignores it, and the next append cuts it
// off so that the new line starts on a fresh one. A last line that is whole
// but lacks its newline (a file edited by hand) is a label like any other.
// Any other line that is not a label is an error naming the file and line.
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { InputError } from '../errors.ts';
import { sampleCount, type Dataset } from './dataset.ts';
import type { LabelScheme } from './labels.ts';
import { classOfChoice, labelProblem, type ScanLabel } from './scan-choices.ts';

const NEWLINE = 0x0a;

/** A label and the line (from 1) it is on. */
export interface LabelLine extends ScanLabel {
  line: number;
}

export interface LabelsRead {
  /** The latest label per id, in the order the ids were first labelled. */
  latest: Map<string, LabelLine>;
  /** Every label by `${client} ${seq}`: a page's retry of a label already written. */
  sent: Map<string, LabelLine>;
  /** Lines up to `end`. */
  lines: number;
  /** Bytes up to the end of the last label (what an append keeps). */
  end: number;
  /** A torn last line follows `end`: the next append cuts it off. */
  torn: boolean;
  /** The last label lacks its newline, so an append writes one first. */
  openLine: boolean;
  exists: boolean;
}

const sendKey = (client: string, seq: number) => `${client} ${seq}`;

/** Reads a labels file (absent: no labels); a corrupt line other than a torn last one is an InputError naming the file and line. */
export function readScanLabels(path: string): LabelsRead {
  const read: LabelsRead = { latest: new Map(), sent: new Map(), lines: 0, end: 0, torn: false, openLine: false, exists: false };
  let bytes: Buffer;
  try {
    if (statSync(path, { throwIfNoEntry: false }) === undefined) return read;
    bytes = readFileSync(path);
  } catch (e) {
    throw new InputError(`${path}: not readable as a labels file (${(e as Error).message})`);
  }
  read.exists = true;
  for (let start = 0, line = 1; start < bytes.length; line++) {
    const newline = bytes.indexOf(NEWLINE, start);
    const stop = newline < 0 ? bytes.length : newline;
    const text = bytes.subarray(start, stop).toString('utf8');
    if (text.trim() !== '') {
      const label = parseLine(text);
      if (typeof label === 'string') {
        // The torn last line of a killed write.
        if (newline < 0) return { ...read, torn: true };
        throw new InputError(`${path}: line ${line} is not a label (${label}); each line is a JSON object {id, label, scheme, time, score, client, seq}`);
      }
      const entry = { ...label, line };
      read.latest.set(label.id, entry);
      read.sent.set(sendKey(label.client, label.seq), entry);
    }
    read.lines = line;
    read.end = newline < 0 ? bytes.length : newline + 1;
    read.openLine = newline < 0;
    start = stop + 1;
  }
  return read;
}

/** The label on one line, or what is wrong with it. */
function parseLine(text: string): ScanLabel | string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return 'not JSON';
  }
  const problem = labelProblem(value);
  if (problem !== null) return problem;
  const v = value as ScanLabel;
  if (typeof v.time !== 'string' || Number.isNaN(Date.parse(v.time))) return `time must be an ISO 8601 date, got ${JSON.stringify(v.time)}`;
  return { id: v.id, label: v.label, scheme: v.scheme, time: v.time, score: v.score, client: v.client, seq: v.seq };
}

/** What `append` did: the label now on file for its (client, seq), and whether this call wrote it. */
export interface Appended {
  label: ScanLabel;
  written: boolean;
}

/** A labels file open for appending: one writer per file, appends in the order they are asked for. */
export class ScanLabelsFile {
  private state: LabelsRead;
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(readonly path: string) {
    this.state = readScanLabels(path);
  }

  /** Reads the file (it need not exist; its folder is made on the first append). */
  static open(path: string): ScanLabelsFile {
    return new ScanLabelsFile(path);
  }

  /** The latest label per id, in the order the ids were first labelled. */
  latest(): ScanLabel[] {
    return Array.from(this.state.latest.values(), withoutLine);
  }

  /**
   * Appends `label` and fsyncs the file (and its folder, when this made the
   * file) before resolving. A (client, seq) already on file is not written
   * again: the label on file is returned.
   */
  append(label: ScanLabel): Promise<Appended> {
    const next = this.queue.then(() => this.write(label));
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** Resolves once every append asked for so far is on disk (or failed). */
  async idle(): Promise<void> {
    await this.queue;
  }

  private async write(label: ScanLabel): Promise<Appended> {
    const key = sendKey(label.client, label.seq);
    const earlier = this.state.sent.get(key);
    if (earlier) return { label: withoutLine(earlier), written: false };
    const { end, torn, openLine, exists } = this.state;
    const record: ScanLabel = { id: label.id, label: label.label, scheme: label.scheme, time: label.time, score: label.score, client: label.client, seq: label.seq };
    const text = `${openLine ? '\n' : ''}${JSON.stringify(record)}\n`;
    if (!exists) mkdirSync(dirname(resolve(this.path)), { recursive: true });
    try {
      const handle = await open(this.path, 'a');
      try {
        // A torn last line was never answered "saved"; appends go to the new end.
        if (torn) await handle.truncate(end);
        await handle.write(text);
        await handle.sync();
      } finally {
        await handle.close();
      }
      if (!exists) syncFolder(dirname(resolve(this.path)));
    } catch (e) {
      // Whatever reached the file is read again: a partial line is torn, and the next append cuts it off.
      this.state = readScanLabels(this.path);
      throw new InputError(`${this.path}: could not append a label (${(e as Error).message})`);
    }
    const entry = { ...record, line: this.state.lines + 1 };
    this.state.latest.set(record.id, entry);
    this.state.sent.set(key, entry);
    this.state = { ...this.state, lines: entry.line, end: end + Buffer.byteLength(text), torn: false, openLine: false, exists: true };
    return { label: record, written: true };
  }
}

function withoutLine({ line: _, ...label }: LabelLine): ScanLabel {
  return label;
}

/** A new file's name is in its folder's entries: fsync the folder, or a crash can lose the file whole. */
function syncFolder(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** The candidates a labels file labels, for training: indices into the dataset and their classes. */
export interface ScannedLabels {
  scheme: LabelScheme;
  /** Dataset indices, in the order the ids were first labelled. */
  indices: Uint32Array;
  /** The class of each, in `scheme`. */
  labels: Uint8Array;
  /** Ids whose latest label is 'unsure', left out. */
  unsure: number;
}

/**
 * The latest label per id of the file at `path`, as dataset indices and
 * class indices in `scheme` (by default the labels' own, which must then be
 * one); 'unsure' is left out. An id not in the dataset, or a label of
 * another scheme, is an InputError naming the file and line.
 */
export function scannedLabels(dataset: Dataset, path: string, scheme?: LabelScheme): ScannedLabels {
  const { latest, exists } = readScanLabels(path);
  if (!exists) throw new InputError(`${path}: no such labels file`);
  const index = new Map<string, number>();
  dataset.ids.forEach((id, i) => index.has(id) || index.set(id, i));
  const first = latest.values().next().value;
  if (first === undefined) throw new InputError(`${path}: holds no labels`);
  const wanted = scheme ?? first.scheme;
  const indices: number[] = [];
  const labels: number[] = [];
  let unsure = 0;
  for (const label of latest.values()) {
    const i = index.get(label.id);
    if (i === undefined) throw new InputError(`${path}: line ${label.line} labels id '${label.id}', which is not among the ${sampleCount(dataset)} candidates of ${dataset.source}`);
    if (label.scheme !== wanted) {
      const why = scheme === undefined ? `line ${first.line} is a ${first.scheme} one: the labels must be of one scheme` : `training with ${scheme} labels needs ${scheme} ones`;
      throw new InputError(`${path}: line ${label.line} is a ${label.scheme} label, but ${why}`);
    }
    const c = classOfChoice(label.scheme, label.label);
    if (c === null) unsure++;
    else if (c !== undefined) {
      indices.push(i);
      labels.push(c);
    }
  }
  return { scheme: wanted, indices: Uint32Array.from(indices), labels: Uint8Array.from(labels), unsure };
}
