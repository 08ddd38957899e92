// What every request to the scan server passes before it is routed: the
// token when one is set (a header or a query parameter), a path with no way
// out of the known routes, and, on the loopback address without a token, a
// Host and Origin of this server's own, so that another web page the scanner
// has open can neither read the API through DNS rebinding nor post labels
// to it.
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { HttpError } from './http.ts';

export interface GuardOptions {
  token: string | null;
  /** Bound to a loopback address: requests must name it as their Host. */
  loopback: boolean;
}

const LOOPBACK_HOSTS = /^(127\.0\.0\.1|localhost|\[::1\])(:\d+)?$/i;
/** '..' in any spelling, backslashes and NUL, raw or percent-encoded. */
const ESCAPE = /\.\.|%2e%2e|%2e\.|\.%2e|\\|%5c|\0|%00/i;

/** An admitted request's path (as sent) and query. */
export interface Admitted {
  path: string;
  query: URLSearchParams;
}

/** The request's path and query once admitted, or an HttpError: 401 without the token, 403 from elsewhere, 400 for a path that tries to leave its route. */
export function admit(req: IncomingMessage, { token, loopback }: GuardOptions): Admitted {
  const raw = req.url ?? '/';
  const mark = raw.indexOf('?');
  const path = mark < 0 ? raw : raw.slice(0, mark);
  const query = new URLSearchParams(mark < 0 ? '' : raw.slice(mark + 1));
  if (token !== null) {
    const header = req.headers.authorization;
    const given = header?.startsWith('Bearer ') ? header.slice('Bearer '.length) : query.get('token');
    if (given === null || !sameSecret(given, token)) throw new HttpError(401, 'this server needs its token: an Authorization: Bearer header or a token= query parameter');
  } else if (loopback) {
    const host = req.headers.host ?? '';
    if (!LOOPBACK_HOSTS.test(host)) throw new HttpError(403, `Host ${JSON.stringify(host)} is not this server's loopback address`);
    const origin = req.headers.origin;
    if (origin !== undefined && origin !== `http://${host}`) throw new HttpError(403, `requests from ${origin} are not served: open the page from this server`);
  }
  if (ESCAPE.test(path) || ESCAPE.test(safeDecode(path))) throw new HttpError(400, `the path ${JSON.stringify(path.slice(0, 80))} has '..', a backslash or NUL`);
  return { path, query };
}

function safeDecode(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    throw new HttpError(400, `the path ${JSON.stringify(path.slice(0, 80))} is not valid percent-encoding`);
  }
}

/** Compares in time independent of where the strings differ. */
function sameSecret(given: string, token: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}
