import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { Webhook } from 'standardwebhooks';

/** A fresh `whsec_…` secret and its raw base64 key. */
export function newWebhookSecret(): { secret: string; key: string } {
  const key = randomBytes(32).toString('base64');
  return { secret: `whsec_${key}`, key };
}

export interface ReceivedDelivery {
  headers: { id: string; timestamp: string; signature: string };
  body: string;
  /** What the receiver answered (0 while it holds the request open). */
  answered: number;
  /** The standardwebhooks package accepted the signature. */
  verified: boolean;
  verifyError?: string;
}

export interface WebhookReceiver {
  url: string;
  deliveries: ReceivedDelivery[];
  /** Events accepted (verified and answered 2xx), one per webhook-id: a repeat of an accepted id is answered 200 and not counted again. */
  accepted: Map<string, unknown>;
  /** Deliveries seen for a webhook id. */
  attempts(id: string): number;
  /** Resolves when `n` events were accepted. */
  waitForAccepted(n: number, timeoutMs?: number): Promise<void>;
  /** Resolves when a delivery arrives and is being held (see `hold`). */
  waitForDelivery(n: number, timeoutMs?: number): Promise<ReceivedDelivery>;
  close(): Promise<void>;
}

/**
 * A webhook receiver on loopback that verifies every delivery with the `standardwebhooks` package (an
 * implementation independent of Reelay's), as a real receiver would: a bad signature gets 401. `failFirst`
 * answers 500 to the first n deliveries; `hold` keeps deliveries open without answering (a kill test).
 */
export async function startWebhookReceiver(secret: string, opts: { failFirst?: number; hold?: (d: ReceivedDelivery, index: number) => boolean } = {}): Promise<WebhookReceiver> {
  const wh = new Webhook(secret);
  const deliveries: ReceivedDelivery[] = [];
  const accepted = new Map<string, unknown>();
  const held = new Set<http.ServerResponse>();
  const waiters: Array<() => void> = [];
  const notify = () => waiters.splice(0).forEach((w) => w());
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const h = (name: string) => String(req.headers[name] ?? '');
      const d: ReceivedDelivery = { headers: { id: h('webhook-id'), timestamp: h('webhook-timestamp'), signature: h('webhook-signature') }, body, answered: 0, verified: false };
      let payload: unknown;
      try {
        payload = wh.verify(body, { 'webhook-id': d.headers.id, 'webhook-timestamp': d.headers.timestamp, 'webhook-signature': d.headers.signature });
        d.verified = true;
      } catch (err) {
        d.verifyError = (err as Error).message;
      }
      const index = deliveries.push(d) - 1;
      const answer = (status: number) => {
        d.answered = status;
        res.writeHead(status, { 'content-type': 'text/plain' });
        res.end(String(status));
        notify();
      };
      if (opts.hold?.(d, index)) {
        held.add(res);
        notify();
        return;
      }
      if (!d.verified) return answer(401);
      if (index < (opts.failFirst ?? 0)) return answer(500);
      if (!accepted.has(d.headers.id)) accepted.set(d.headers.id, payload);
      answer(204);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  const waitUntil = async (ok: () => boolean, what: string, timeoutMs: number) => {
    const deadline = Date.now() + timeoutMs;
    while (!ok()) {
      if (Date.now() > deadline) throw new Error(`webhook receiver: ${what} did not happen within ${timeoutMs} ms; saw ${JSON.stringify(deliveries.map((x) => ({ id: x.headers.id, answered: x.answered, verified: x.verified })))}`);
      await new Promise<void>((resolve) => {
        waiters.push(resolve);
        setTimeout(resolve, 200);
      });
    }
  };
  return {
    url: `http://127.0.0.1:${port}/hooks/reelay`,
    deliveries,
    accepted,
    attempts: (id) => deliveries.filter((d) => d.headers.id === id).length,
    waitForAccepted: (n, timeoutMs = 20_000) => waitUntil(() => accepted.size >= n, `${n} accepted event(s)`, timeoutMs),
    waitForDelivery: async (n, timeoutMs = 20_000) => {
      await waitUntil(() => deliveries.length >= n, `delivery #${n}`, timeoutMs);
      return deliveries[n - 1]!;
    },
    close: async () => {
      for (const res of held) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
