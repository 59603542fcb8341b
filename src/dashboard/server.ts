import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Client } from '@temporalio/client';
import { UnknownWorkflowError } from '../cli/commands/shared';
import { LIST_PROVIDERS, LIST_STATUSES, type ListStatus } from '../cli/commands/list';
import { WORKFLOW_TYPES } from '../pipelines/registry';
import type { StorageSettings } from '../storage/config';
import { authorized, bindProblem, hasAuth, isLoopbackHost, REALM, type DashboardAuth } from './auth';
import { DashboardError, SummaryCache, batchView, listRows, runOutputs, runView, type ListFilters } from './data';
import { insideDir, serveLocalFile, serveStoreObject } from './files';
import { CSS, SCRIPT, errorPage, page } from './html';
import { BATCH_ACTIONS, DEFAULT_LIST_LIMIT, availableActions, batchLive, batchPage, confirmPage, runLive, runPage, runsPage, runsTable, type BatchAction } from './views';

/**
 * `reelay dashboard`: a small web app over Temporal's own APIs. Every page is rendered here from what the
 * client reads (the browser never talks to Temporal), live regions are re-fetched from here, and outputs
 * are streamed from the output directory or store.
 */

export interface DashboardOptions {
  /** A client built like the CLI's (same data converter), owned by the caller. */
  client: Client;
  storage: StorageSettings;
  host?: string;
  /** 0 = any free port. */
  port?: number;
  auth?: DashboardAuth;
  /** The task queue `retry-failed` starts on (the CLI's REELAY_TASK_QUEUE). */
  taskQueue?: string;
  /** Where to log a request that failed unexpectedly (with its stack; the page shows only the message). */
  log?: (line: string) => void;
}

export interface Dashboard {
  url: string;
  host: string;
  port: number;
  server: http.Server;
  close(): Promise<void>;
}

export const DEFAULT_DASHBOARD_PORT = 8240;
const MAX_LIMIT = 500;
const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'self'; img-src 'self' data:; media-src 'self'; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'same-origin',
};

function send(res: ServerResponse, status: number, body: string, type = 'text/html; charset=utf-8', extra: Record<string, string> = {}): void {
  res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': type, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store', ...extra });
  res.end(body);
}

/** The list filters from a query string; a value that is not one of the known ones is a 400, naming it. */
export function parseFilters(q: URLSearchParams): ListFilters {
  const bad = (name: string, value: string, accepted: string) => new DashboardError(400, 'Bad filter', `${name}=${JSON.stringify(value)} is not accepted: ${accepted}`);
  const pipeline = q.get('pipeline') || undefined;
  if (pipeline && !(WORKFLOW_TYPES as readonly string[]).includes(pipeline)) throw bad('pipeline', pipeline, `one of ${WORKFLOW_TYPES.join(', ')}`);
  const status = q.get('status') || undefined;
  if (status && !(LIST_STATUSES as readonly string[]).includes(status)) throw bad('status', status, `one of ${LIST_STATUSES.join(', ')}`);
  const provider = q.get('provider') || undefined;
  if (provider && !LIST_PROVIDERS.includes(provider)) throw bad('provider', provider, `one of ${LIST_PROVIDERS.join(', ')}`);
  const jobId = q.get('jobId')?.trim() || undefined;
  if (jobId && (jobId.length > 200 || /[\u0000-\u001f]/.test(jobId))) throw bad('jobId', jobId, 'a provider job id of at most 200 printable characters');
  const taskQueue = q.get('queue')?.trim() || undefined;
  if (taskQueue && (taskQueue.length > 200 || /[\u0000-\u001f]/.test(taskQueue))) throw bad('queue', taskQueue, 'a task queue name of at most 200 printable characters');
  const rawLimit = q.get('limit');
  const limit = rawLimit ? Number(rawLimit) : DEFAULT_LIST_LIMIT;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) throw bad('limit', rawLimit ?? '', `a whole number from 1 to ${MAX_LIMIT}`);
  return { pipeline, status: status as ListStatus | undefined, provider, jobId, taskQueue, limit };
}

/** A path segment, decoded; a malformed escape is a 400 rather than an exception. */
function segment(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new DashboardError(400, 'Bad address', `"${raw}" is not a valid URL path segment`);
  }
}

/** Temporal down or unreachable: a 503 page that says so, not a stack. */
function isUnavailable(err: unknown): boolean {
  const e = err as { name?: string; code?: number; message?: string };
  return e?.code === 14 || /UNAVAILABLE|ECONNREFUSED|failed to connect|Connection refused|DEADLINE_EXCEEDED/i.test(`${e?.name ?? ''} ${e?.message ?? ''}`);
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  let body = '';
  for await (const chunk of req) {
    body += String(chunk);
    if (body.length > 10_000) throw new DashboardError(413, 'Request too large', 'the form is larger than 10 kB');
  }
  return new URLSearchParams(body);
}

/** A state-changing request must come from this dashboard's own pages (no cross-site form posts). */
function sameOrigin(req: IncomingMessage): boolean {
  const site = req.headers['sec-fetch-site'];
  if (site && site !== 'same-origin' && site !== 'none') return false;
  const origin = req.headers.origin;
  if (origin && origin !== 'null') {
    try {
      return new URL(origin).host === req.headers.host;
    } catch {
      return false;
    }
  }
  return true;
}

export function createDashboardHandler(opts: DashboardOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const { client } = opts;
  const auth = opts.auth ?? {};
  const log = opts.log ?? ((line: string) => process.stderr.write(line + '\n'));
  const summaries = new SummaryCache();

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // The URL parser folds "..", "%2e%2e" and the like away: a request spelled with them is refused as it was sent.
    const rawPath = (req.url ?? '/').split('?')[0]!;
    if (rawPath.split('/').some((s) => /^(\.|%2e){2}$/i.test(s))) {
      throw new DashboardError(403, 'Outside the output directory', 'a path with ".." is refused: the dashboard serves only what is under its output directory');
    }
    const url = new URL(req.url ?? '/', 'http://dashboard.invalid');
    const parts = url.pathname.split('/').filter(Boolean);
    const fragment = url.searchParams.get('fragment') === '1';
    const method = req.method ?? 'GET';
    const read = method === 'GET' || method === 'HEAD';

    if (read && url.pathname === '/assets/app.css') return send(res, 200, CSS, 'text/css; charset=utf-8', { 'cache-control': 'max-age=300' });
    if (read && url.pathname === '/assets/app.js') return send(res, 200, SCRIPT, 'text/javascript; charset=utf-8', { 'cache-control': 'max-age=300' });
    if (read && url.pathname === '/healthz') return send(res, 200, 'ok\n', 'text/plain; charset=utf-8');

    if (read && url.pathname === '/') {
      const f = parseFilters(url.searchParams);
      const rows = await listRows(client, f, summaries);
      if (fragment) return send(res, 200, runsTable(rows, Date.now(), f).text);
      return send(res, 200, page({ title: f.pipeline === 'batchPipeline' ? 'Batches' : 'Runs', nav: f.pipeline === 'batchPipeline' ? 'batches' : 'runs', body: runsPage(rows, f) }));
    }

    if (parts[0] === 'runs' && parts.length >= 2) {
      const id = segment(parts[1]!);
      if (read && parts.length === 2) {
        const v = await runView(client, id);
        if ('batch' in v) {
          res.writeHead(303, { location: `/batches/${encodeURIComponent(id)}` });
          return void res.end();
        }
        if (fragment) return send(res, 200, runLive(id, v, url.searchParams.get('was') === 'running').text);
        return send(res, 200, page({ title: id, nav: 'runs', body: runPage(id, v) }));
      }
      if (read && parts.length === 4 && parts[2] === 'outputs') {
        if (!/^\d{1,4}$/.test(parts[3]!)) throw new DashboardError(400, 'Bad output number', `"${parts[3]}" is not an output number`);
        const outputs = await runOutputs(client, id);
        const o = outputs[Number(parts[3])];
        if (!o) throw new DashboardError(404, 'No such output', `${id} delivered ${outputs.length} file(s); there is no output ${parts[3]}`);
        const asVtt = url.searchParams.get('as') === 'vtt';
        if (o.uri) return serveStoreObject(req, res, o.uri, opts.storage, { asVtt });
        const out = opts.storage.output;
        if (out.kind !== 'local') throw new DashboardError(403, 'Outside the output store', `${o.path} is a local file, and this dashboard serves outputs from ${out.kind === 's3' ? 'the store' : 'its output directory'}`);
        return serveLocalFile(req, res, await insideDir(out.path, o.path), { asVtt });
      }
    }

    if (read && parts[0] === 'files') {
      const out = opts.storage.output;
      if (out.kind !== 'local') throw new DashboardError(404, 'No output directory', 'outputs go to an object store; open them from their run page');
      // Decoded segment by segment: "%2e%2e" and "%2f" are judged as what they mean, not how they are spelled.
      const rel = url.pathname.slice('/files/'.length).split('/').map(segment).join('/');
      if (!rel || /(^|\/)\.\.(\/|$)/.test(rel) || rel.includes('\0')) {
        throw new DashboardError(403, 'Outside the output directory', `${rel || '/'} is not a file under the output directory; the dashboard serves only what is under it`);
      }
      return serveLocalFile(req, res, await insideDir(out.path, rel));
    }

    if (parts[0] === 'batches' && parts.length >= 2) {
      const id = segment(parts[1]!);
      if (read && parts.length === 2) {
        const b = await batchView(client, id);
        if (fragment) return send(res, 200, batchLive(b).text);
        const done = url.searchParams.get('done');
        const flash = done && (BATCH_ACTIONS as readonly string[]).includes(done) ? `${done === 'retry-failed' ? 'Retry started' : `${done[0]!.toUpperCase()}${done.slice(1)} sent`}.` : undefined;
        return send(res, 200, page({ title: id, nav: 'batches', body: batchPage(b, flash) }));
      }
      if (parts.length === 3) {
        const action = parts[2] as BatchAction;
        if (!(BATCH_ACTIONS as readonly string[]).includes(action)) throw new DashboardError(404, 'No such action', `"${parts[2]}" is not a batch action (${BATCH_ACTIONS.join(', ')})`);
        const b = await batchView(client, id);
        if (!availableActions(b).includes(action)) {
          throw new DashboardError(409, 'Not possible now', `${id} is ${b.progress?.paused ? 'paused' : b.status.toLowerCase()}: ${action} is not possible (possible: ${availableActions(b).join(', ') || 'nothing'})`);
        }
        if (read) return send(res, 200, page({ title: `${action} ${id}`, nav: 'batches', body: confirmPage(id, action) }));
        if (method === 'POST') {
          if (!sameOrigin(req)) throw new DashboardError(403, 'Refused', 'a batch action must come from the dashboard itself');
          const form = await readForm(req);
          if (form.get('confirm') !== 'yes') throw new DashboardError(400, 'Not confirmed', `confirm ${action} on its confirmation page`);
          let target = id;
          if (action === 'retry-failed') {
            const { retryFailed } = await import('../pipelines/batch/start');
            const started = await retryFailed(client, id, { taskQueue: opts.taskQueue });
            if ('batchId' in started && 'handle' in started) target = started.batchId;
          } else {
            const { pauseSignal, resumeSignal, cancelBatchSignal } = await import('../pipelines/batch/signals');
            await client.workflow.getHandle(id).signal(action === 'pause' ? pauseSignal : action === 'resume' ? resumeSignal : cancelBatchSignal);
          }
          res.writeHead(303, { location: `/batches/${encodeURIComponent(target)}?done=${action}` });
          return void res.end();
        }
      }
    }
    throw new DashboardError(read || method === 'POST' ? 404 : 405, read || method === 'POST' ? 'Not found' : 'Method not allowed', `nothing at ${method} ${url.pathname}`);
  }

  return (req, res) => {
    if (!authorized(req, auth)) {
      send(res, 401, errorPage(401, 'Sign in', 'This dashboard needs a token or a user name and password.'), 'text/html; charset=utf-8', {
        'www-authenticate': `Basic realm="${REALM}", charset="UTF-8"`,
      });
      return;
    }
    // Without auth (loopback only), a page named by another host name is a DNS-rebinding attempt.
    if (!hasAuth(auth)) {
      const host = (req.headers.host ?? '').replace(/:\d+$/, '');
      if (host && !isLoopbackHost(host)) {
        send(res, 421, errorPage(421, 'Wrong host', `this dashboard answers only on loopback, not as ${host}`));
        return;
      }
    }
    route(req, res).catch((err: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (err instanceof DashboardError) return send(res, err.status, errorPage(err.status, err.title, err.message));
      if (err instanceof UnknownWorkflowError) return send(res, 404, errorPage(404, 'Unknown workflow', `${err.message}.`));
      if (isUnavailable(err)) return send(res, 503, errorPage(503, 'Temporal unavailable', `Temporal did not answer: ${(err as Error).message}`));
      log(`dashboard: ${req.method} ${req.url}: ${(err as Error)?.stack ?? String(err)}`);
      send(res, 500, errorPage(500, 'Something went wrong', (err as Error)?.message ?? String(err)));
    });
  };
}

/** Serve the dashboard; refuses a non-loopback host without auth before binding anything. */
export async function startDashboard(opts: DashboardOptions): Promise<Dashboard> {
  const host = opts.host ?? '127.0.0.1';
  const problem = bindProblem(host, opts.auth ?? {});
  if (problem) throw new DashboardError(400, 'Refused', problem);
  const server = http.createServer(createDashboardHandler(opts));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? DEFAULT_DASHBOARD_PORT, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const shown = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host;
  return {
    url: `http://${shown}:${port}`,
    host,
    port,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
