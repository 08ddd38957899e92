// The `handscan scan` server's HTTP API (the contract in src/scan/), as the
// page calls it. The token the server printed in its URL (`?token=…`) goes
// with every request as a bearer header; a reply other than 2xx becomes an
// ApiError carrying the server's one-line reason and status.
import type { SampleShape } from '../../src/data/dataset.ts';

export interface Session {
  data: string;
  count: number;
  shape: SampleShape;
  /** 'triplet': science, reference, difference side by side; 'composite': one colour image. */
  layout: 'composite' | 'triplet';
  channels: string[];
  ids: string[];
  /** The dataset's own label name per candidate, where it has one. */
  truth: (string | null)[];
  scheme: 'binary' | 'visual' | 'original';
  /** The label values the scheme allows: ['real', 'bogus', 'unsure'], or class names and 'unsure'. */
  choices: string[];
  threshold: number;
  model: { version: number; name: string; preprocess: string; classes: number; columns: string[]; temperature: number | null };
}

export interface SavedLabel {
  id: string;
  label: string;
  scheme: string;
  time: string;
  score: number | null;
  client: string;
  seq: number;
}

export interface LabelPost {
  id: string;
  label: string;
  scheme: string;
  score: number | null;
  client: string;
  seq: number;
}

export interface RetrainStatus {
  state: 'idle' | 'running' | 'done' | 'failed';
  lines: string[];
  version: number;
  run?: string;
  error?: string;
}

export interface ServerScores {
  version: number;
  adapter: string;
  seconds: number;
  probs: number[];
}

/** A reply the server refused (4xx/5xx); `status` 0 when it could not be reached at all. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

const token = new URLSearchParams(location.search).get('token');

async function call(path: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (token) headers.set('authorization', `Bearer ${token}`);
  let res: Response;
  try {
    res = await fetch(path, { ...init, headers, cache: 'no-store' });
  } catch (e) {
    throw new ApiError(`the scan server is not answering (${(e as Error).message})`, 0);
  }
  if (res.ok) return res;
  const reason = await res.json().then(
    (body: { error?: string }) => body.error ?? res.statusText,
    () => res.statusText,
  );
  throw new ApiError(`${path.split('?')[0]}: ${res.status} ${reason}`, res.status);
}

const json = async <T>(path: string, init?: RequestInit): Promise<T> => (await call(path, init)).json() as Promise<T>;
const post = <T>(path: string, body: unknown) => json<T>(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

export const api = {
  session: () => json<Session>('/api/session'),
  /** Network inputs of candidates from..from+count−1, N×H×W×C float32 (as predict feeds them). */
  async inputs(from: number, count: number): Promise<Float32Array> {
    return new Float32Array(await (await call(`/api/inputs?from=${from}&count=${count}`)).arrayBuffer());
  },
  async weights(): Promise<{ bytes: Uint8Array; version: number }> {
    const res = await call('/api/weights');
    return { bytes: new Uint8Array(await res.arrayBuffer()), version: Number(res.headers.get('x-model-version')) };
  },
  scores: () => json<ServerScores>('/api/scores'),
  labels: async () => (await json<{ labels: Record<string, SavedLabel> }>('/api/labels')).labels,
  postLabel: (label: LabelPost) => post<{ saved: true; id: string; label: string; time: string }>('/api/labels', label),
  startRetrain: (epochs?: number) => post<{ state: 'running' }>('/api/retrain', epochs === undefined ? {} : { epochs }),
  retrain: () => json<RetrainStatus>('/api/retrain'),
};
