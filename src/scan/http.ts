// Requests and replies of the scan server's JSON API: errors as a status and
// one line, bodies read up to a limit and refused, unread, past it.
import type { IncomingMessage, ServerResponse } from 'node:http';

/** An answer other than 2xx, with its one-line reason. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = `${JSON.stringify(value)}\n`;
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
  res.end(body);
}

/** `{ error }` on one line. */
export function sendError(res: ServerResponse, status: number, message: string): void {
  sendJson(res, status, { error: message.replace(/\s*\n\s*/g, ' ') });
}

/** How long, and for how many bytes at most, a refused body is drained before its connection is cut. */
const LINGER_MS = 2000;
const LINGER_BYTES = 16 * 2 ** 20;

/**
 * The request's body as JSON, read up to `limit` bytes. A body declared or
 * found larger is refused with 413 as soon as that is known, and never kept.
 */
export function readJson(req: IncomingMessage, limit: number): Promise<unknown> {
  const tooLarge = () => {
    cutOff(req);
    return new HttpError(413, `the request body is larger than ${limit} bytes`);
  };
  return new Promise((resolve, reject) => {
    if (Number(req.headers['content-length'] ?? 0) > limit) return reject(tooLarge());
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) return void chunks.push(chunk);
      req.off('data', onData);
      reject(tooLarge());
    };
    req.on('data', onData);
    req.on('error', reject);
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      try {
        resolve(text.trim() === '' ? {} : JSON.parse(text));
      } catch (e) {
        reject(new HttpError(400, `the request body is not JSON (${(e as Error).message})`));
      }
    });
  });
}

/**
 * Ends a refused upload without reading it all. Closing a socket with unread
 * bytes resets it, and a client still sending may then lose the answer
 * unread, so what is in flight is drained and dropped while the client
 * reads the answer and stops: at most LINGER_BYTES or LINGER_MS, then the
 * connection is cut whatever the client does.
 */
function cutOff(req: IncomingMessage): void {
  const socket = req.socket;
  const timer = setTimeout(() => socket.destroy(), LINGER_MS).unref();
  socket.once('close', () => clearTimeout(timer));
  let drained = 0;
  req.on('data', (chunk: Buffer) => {
    drained += chunk.length;
    if (drained > LINGER_BYTES) socket.destroy();
  });
}
