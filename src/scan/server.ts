// The scan server (`handscan scan`): node:http serving the scanning page and
// its JSON API under /api/ (session, inputs, weights, scores, labels,
// retrain) over one ScanSession, one labels file and one retrain at a time.
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ScanLabel } from '../data/scan-choices.ts';
import { labelProblem } from '../data/scan-choices.ts';
import { ScanLabelsFile } from '../data/scan-labels.ts';
import { admit, type Admitted } from './guard.ts';
import { HttpError, readJson, sendError, sendJson } from './http.ts';
import { PAGE_FILES, pageFile } from './page-files.ts';
import { Retrain } from './retrain.ts';
import { MOST_INPUTS, type ScanSession } from './session.ts';

/** The largest body a POST may have: a label is well under 1 KiB. */
export const BODY_LIMIT = 64 * 1024;
const MOST_EPOCHS = 1000;

export interface ScanServerOptions {
  session: ScanSession;
  labels: ScanLabelsFile;
  host: string;
  port: number;
  token: string | null;
  /** The scan's --preprocess, passed on to a retrain. */
  preprocess: string | null;
}

export interface ScanServer {
  /** The page's address, with the token when there is one. */
  url: string;
  port: number;
  /** Stops listening, stops a retrain, waits for label writes and scoring in hand, destroys the engine. */
  close(): Promise<void>;
}

type Handler = (req: IncomingMessage, res: ServerResponse, request: Admitted) => Promise<void>;

export async function startScanServer(options: ScanServerOptions): Promise<ScanServer> {
  const { session, labels, token } = options;
  const retrain = new Retrain();
  const loopback = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/i.test(options.host);

  const routes: Record<string, Partial<Record<'GET' | 'POST', Handler>>> = {
    '/api/session': { GET: async (_req, res) => sendJson(res, 200, session.describe()) },
    '/api/inputs': {
      GET: async (_req, res, { query }) => {
        const from = integerParameter(query, 'from', 0, session.count - 1);
        const count = integerParameter(query, 'count', 1, Math.min(MOST_INPUTS, session.count - from));
        await session.writeInputs(res, from, count);
      },
    },
    '/api/weights': {
      GET: async (_req, res) => {
        const { weights, version } = session.model;
        const bytes = await readFile(weights);
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': bytes.length, 'cache-control': 'no-store', 'x-model-version': String(version) });
        res.end(bytes);
      },
    },
    '/api/scores': {
      GET: async (_req, res) => {
        let scores;
        try {
          scores = await session.scores();
        } catch (e) {
          throw new HttpError(503, `the server cannot score on WebGPU: ${(e as Error).message.split('\n')[0]}`);
        }
        sendJson(res, 200, { version: scores.version, adapter: scores.adapter, seconds: scores.seconds, probs: Array.from(scores.probs) });
      },
    },
    '/api/labels': {
      GET: async (_req, res) => sendJson(res, 200, { labels: Object.fromEntries(labels.latest().map((l) => [l.id, l])) }),
      POST: async (req, res) => {
        const label = checkLabel(await readJson(req, BODY_LIMIT), session);
        const { label: saved, written } = await labels.append(label);
        if (!written && (saved.id !== label.id || saved.label !== label.label)) {
          throw new HttpError(409, `client ${label.client} already sent seq ${label.seq}, as ${saved.label} for ${saved.id}`);
        }
        sendJson(res, 200, { saved: true, id: saved.id, label: saved.label, time: saved.time });
      },
    },
    '/api/retrain': {
      GET: async (_req, res) => sendJson(res, 200, retrain.describe(session.model.version)),
      POST: async (req, res) => {
        const body = (await readJson(req, BODY_LIMIT)) as { epochs?: unknown } | null;
        if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new HttpError(400, 'the body must be a JSON object {epochs?}');
        const { epochs } = body;
        if (!(epochs === undefined || (typeof epochs === 'number' && Number.isInteger(epochs) && epochs >= 1 && epochs <= MOST_EPOCHS))) {
          throw new HttpError(400, `epochs must be an integer in 1..${MOST_EPOCHS}, got ${JSON.stringify(epochs)}`);
        }
        // The run reads the labels file: every label answered "saved" is in it.
        await labels.idle();
        if (retrain.running) throw new HttpError(409, `a retrain is running already (${retrain.run})`);
        if (labels.latest().length === 0) throw new HttpError(409, `nothing is labelled yet in ${labels.path}: label some candidates first`);
        retrain.start(
          { weights: session.model.weights, labels: labels.path, data: session.data, epochs: epochs ?? null, preprocess: options.preprocess },
          (best) => session.switchTo(best),
        );
        sendJson(res, 202, { state: retrain.state, run: retrain.run });
      },
    },
  };

  const serve = async (req: IncomingMessage, res: ServerResponse) => {
    const request = admit(req, { token, loopback });
    const method = req.method === 'HEAD' ? 'GET' : req.method;
    if (Object.hasOwn(PAGE_FILES, request.path)) {
      if (method !== 'GET') throw new HttpError(405, `${request.path} takes GET`);
      const route = request.path as keyof typeof PAGE_FILES;
      const bytes = await pageFile(route);
      res.writeHead(200, { 'content-type': PAGE_FILES[route].type, 'content-length': bytes.length, 'cache-control': 'no-store' });
      res.end(bytes);
      return;
    }
    const route = Object.hasOwn(routes, request.path) ? routes[request.path] : undefined;
    if (!route) throw new HttpError(404, `no such route ${JSON.stringify(request.path.slice(0, 80))}`);
    const handler = route[method as 'GET' | 'POST'];
    if (!handler) throw new HttpError(405, `${request.path} takes ${Object.keys(route).join(' or ')}`);
    await handler(req, res, request);
  };

  const server = createServer((req, res) => {
    serve(req, res).catch((e: unknown) => {
      if (res.headersSent) return void res.destroy();
      if (e instanceof HttpError) return sendError(res, e.status, e.message);
      console.error(`handscan scan: ${req.method} ${req.url}: ${(e as Error).message}`);
      sendError(res, 500, (e as Error).message);
    });
  });
  const port = await listen(server, options.port, options.host);
  const shown = options.host.includes(':') ? `[${options.host}]` : options.host;
  return {
    url: `http://${shown}:${port}/${token === null ? '' : `?token=${encodeURIComponent(token)}`}`,
    port,
    async close() {
      const closed = new Promise<void>((r) => server.close(() => r()));
      // A browser keeps its connections open; they must not hold the server up.
      server.closeAllConnections();
      retrain.stop();
      await closed;
      await labels.idle();
      await session.close();
    },
  };
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/** A query parameter that must be an integer in [min, max]. */
function integerParameter(query: URLSearchParams, name: string, min: number, max: number): number {
  const text = query.get(name);
  const v = Number(text);
  if (text === null || text.trim() === '' || !Number.isInteger(v) || v < min || v > max) {
    throw new HttpError(400, `${name} must be an integer in ${min}..${max}, got ${JSON.stringify(text)}`);
  }
  return v;
}

/** A POSTed label, checked: 400 when malformed or of another scheme, 404 for an id not among the candidates. */
function checkLabel(body: unknown, session: ScanSession): ScanLabel {
  const problem = labelProblem(body);
  if (problem !== null) throw new HttpError(400, problem);
  const v = body as Omit<ScanLabel, 'time'>;
  if (v.scheme !== session.scheme) throw new HttpError(400, `scheme must be this session's, ${session.scheme}, got ${JSON.stringify(v.scheme)}`);
  if (!session.has(v.id)) throw new HttpError(404, `id ${JSON.stringify(v.id.slice(0, 80))} is not among the ${session.count} candidates`);
  return { id: v.id, label: v.label, scheme: v.scheme, time: new Date().toISOString(), score: v.score, client: v.client, seq: v.seq };
}
