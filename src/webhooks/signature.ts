import { createHash, createHmac } from 'node:crypto';

/**
 * Standard Webhooks signatures (https://www.standardwebhooks.com): `webhook-signature` is
 * `v1,<base64 HMAC-SHA256 of "<webhook-id>.<webhook-timestamp>.<body>">`, keyed by the base64 part of a
 * `whsec_…` secret. Several keys (a rotation) give several space-separated signatures; a receiver accepts
 * the message when any of them verifies. No Temporal here.
 */

export const WEBHOOK_SECRET_PREFIX = 'whsec_';
/** The Standard Webhooks spec asks for keys of 24 to 64 bytes. */
export const WEBHOOK_KEY_MIN_BYTES = 24;
export const WEBHOOK_KEY_MAX_BYTES = 64;

/** A signing key, decoded. Its string form never shows the key. */
export class WebhookKey {
  readonly #key: Buffer;
  constructor(key: Buffer) {
    this.#key = key;
  }
  sign(content: string): string {
    return createHmac('sha256', this.#key).update(content, 'utf8').digest('base64');
  }
  toJSON(): string {
    return '[webhook key]';
  }
  toString(): string {
    return '[webhook key]';
  }
}

/** Parse `whsec_<base64>`; the error says what is wrong, never the value. */
export function parseWebhookSecret(raw: string): WebhookKey {
  const s = raw.trim();
  if (!s.startsWith(WEBHOOK_SECRET_PREFIX)) throw new Error(`must start with "${WEBHOOK_SECRET_PREFIX}" followed by a base64 key`);
  const b64 = s.slice(WEBHOOK_SECRET_PREFIX.length);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64) || b64.length % 4 !== 0) throw new Error(`must be "${WEBHOOK_SECRET_PREFIX}" followed by standard base64 (A–Z, a–z, 0–9, +, /, = padding)`);
  const key = Buffer.from(b64, 'base64');
  if (key.length < WEBHOOK_KEY_MIN_BYTES || key.length > WEBHOOK_KEY_MAX_BYTES) {
    throw new Error(`its key must be ${WEBHOOK_KEY_MIN_BYTES}–${WEBHOOK_KEY_MAX_BYTES} bytes (got ${key.length}); make one with: echo "whsec_$(openssl rand -base64 32)"`);
  }
  return new WebhookKey(key);
}

/** The `webhook-signature` header: one `v1,<sig>` per key, current key first. */
export function webhookSignature(keys: readonly WebhookKey[], id: string, timestampSeconds: number, body: string): string {
  const content = `${id}.${timestampSeconds}.${body}`;
  return keys.map((k) => `v1,${k.sign(content)}`).join(' ');
}

/**
 * The `webhook-id` of one event of one run: the same on every attempt and on every worker (receivers
 * deduplicate by it), different for another run or event. A hash, so any workflow id gives a short ASCII id.
 */
export function webhookMessageId(workflowId: string, runId: string, event: string): string {
  const digest = createHash('sha256').update(`${workflowId}\n${runId}\n${event}`, 'utf8').digest('hex');
  return `msg_${digest.slice(0, 32)}`;
}
