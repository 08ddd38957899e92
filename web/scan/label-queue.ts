// Labels are never lost: each one is first written to a queue in
// localStorage, then POSTed to the server in order, and leaves the queue only
// when the server has answered that it appended and fsynced it. A server that
// is down (or restarting) is retried with a growing pause.
//
// Each page load is a new client with its own sequence numbers from 0, so
// (client, seq) names one key press for ever: a retry of one the server
// already saved is answered "saved" without a second line, and two tabs (or a
// duplicated tab) never share a sequence. Each label is its own
// localStorage entry, so that two tabs adding at once cannot overwrite each
// other's queue. A page sends its own labels, and adopts, when it opens, what
// earlier pages left queued (a reload, a closed tab, a crashed browser); a
// tab open beside it keeps sending its own.
import { api, ApiError, type LabelPost } from './api.ts';

const PREFIX = 'handscan-scan/label/';
const RETRY_MS = [250, 500, 1000, 2000];

/** A label waiting for the server; `data` keeps a queue from one dataset out of another's server on the same port. */
export interface QueuedLabel extends LabelPost {
  data: string;
  /** When it was queued (ms since the epoch): the queue's order across tabs. */
  queued: number;
}

export interface QueueEvents {
  /** The server appended this label to its file. */
  saved(label: QueuedLabel): void;
  /** The server refused it for good (a 4xx on what it says): it is dropped, with the server's reason. */
  refused(label: QueuedLabel, reason: string): void;
  /** How many labels wait, and why the last try failed (null once one gets through). */
  waiting(count: number, problem: string | null): void;
}

const entry = (label: LabelPost) => `${PREFIX}${label.client}/${label.seq}`;

/** Every queued label of every dataset, oldest first. */
function queued(): QueuedLabel[] {
  const all: QueuedLabel[] = [];
  for (let i = 0; i < localStorage.length; i++) {
    const key = localStorage.key(i)!;
    if (key.startsWith(PREFIX)) all.push(JSON.parse(localStorage.getItem(key)!) as QueuedLabel);
  }
  return all.sort((a, b) => a.queued - b.queued || a.seq - b.seq);
}

function newClient(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(6));
  return `tab-${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`;
}

/**
 * A 4xx about the label itself (not in the dataset, not a choice, too large)
 * will never succeed; a missing token (401, 403), a timeout or a rate limit
 * may, and an unreachable or failing server (0, 5xx) is retried in any case.
 */
function refusedForGood(e: unknown): boolean {
  const status = e instanceof ApiError ? e.status : 0;
  return status >= 400 && status < 500 && ![401, 403, 408, 429].includes(status);
}

export class LabelQueue {
  readonly client = newClient();
  private seq = 0;
  private sending = false;
  /** The entries this page sends: its own, and those it adopted when it opened. */
  private readonly mine: Set<string>;

  constructor(
    private readonly data: string,
    private readonly events: QueueEvents,
  ) {
    this.mine = new Set(this.pending().map(entry));
  }

  /** Queues one key press's label (written to localStorage before anything is sent) and starts sending. */
  add(post: Omit<LabelPost, 'client' | 'seq'>): QueuedLabel {
    const label: QueuedLabel = { ...post, client: this.client, seq: this.seq++, data: this.data, queued: Date.now() };
    localStorage.setItem(entry(label), JSON.stringify(label));
    this.mine.add(entry(label));
    void this.flush();
    return label;
  }

  /** The labels of this dataset still waiting, oldest first, whichever page queued them. */
  pending(): QueuedLabel[] {
    return queued().filter((l) => l.data === this.data);
  }

  /** Sends this page's queue in order until it is empty; one loop per page. */
  async flush(): Promise<void> {
    if (this.sending) return;
    this.sending = true;
    try {
      let problem: string | null = null;
      for (let failures = 0; ; ) {
        const waiting = this.pending().filter((l) => this.mine.has(entry(l)));
        this.events.waiting(waiting.length, problem);
        const next = waiting[0];
        if (!next) return;
        const { data: _, queued: __, ...post } = next;
        try {
          await api.postLabel(post);
          this.forget(next);
          [problem, failures] = [null, 0];
          this.events.saved(next);
        } catch (e) {
          if (refusedForGood(e)) {
            this.forget(next);
            this.events.refused(next, (e as Error).message);
            continue;
          }
          problem = (e as Error).message;
          this.events.waiting(waiting.length, problem);
          await new Promise((r) => setTimeout(r, RETRY_MS[Math.min(failures++, RETRY_MS.length - 1)]));
        }
      }
    } finally {
      this.sending = false;
    }
  }

  private forget(label: QueuedLabel): void {
    localStorage.removeItem(entry(label));
    this.mine.delete(entry(label));
  }
}
