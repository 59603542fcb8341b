import { createHash } from 'node:crypto';

/**
 * Payload encryption keys from the environment. Values are never echoed: an error names the variable
 * (and the entry's position in a list), not what it holds.
 *
 *   REELAY_PAYLOAD_KEY       the current key: 32 random bytes, base64 (`openssl rand -base64 32`).
 *                            Set = new payloads are encrypted.
 *   REELAY_PAYLOAD_KEY_ID    its id, written into every payload's metadata (default: derived from the key).
 *   REELAY_PAYLOAD_OLD_KEYS  retired keys, decrypt only: comma-separated `id:base64` (or bare base64,
 *                            id derived), so histories written before a rotation stay readable.
 */

export const PAYLOAD_KEY_ENV = 'REELAY_PAYLOAD_KEY';
export const PAYLOAD_KEY_ID_ENV = 'REELAY_PAYLOAD_KEY_ID';
export const PAYLOAD_OLD_KEYS_ENV = 'REELAY_PAYLOAD_OLD_KEYS';

export const KEY_BYTES = 32;
const KEY_ID = /^[A-Za-z0-9._-]{1,64}$/;
const BASE64 = /^[A-Za-z0-9+/_-]+={0,2}$/;

export interface PayloadKey {
  id: string;
  key: Buffer;
}

export interface PayloadKeys {
  /** Encrypts new payloads; undefined = decrypt only (encryption turned off, old histories still readable). */
  current?: PayloadKey;
  /** Every key that may decrypt, the current one included, by id. */
  all: Map<string, PayloadKey>;
}

/** A payload-key variable is missing its mark; the message names the variable, never its value. */
export class PayloadKeyConfigError extends Error {
  override name = 'PayloadKeyConfigError';
}

/** A stable, non-secret id for a key: a truncated hash under a label of its own. */
export function deriveKeyId(key: Buffer): string {
  return `k-${createHash('sha256').update('reelay-payload-key-id\0').update(key).digest('hex').slice(0, 12)}`;
}

function parseKey(raw: string, where: string): Buffer {
  const text = raw.trim();
  if (!BASE64.test(text)) {
    throw new PayloadKeyConfigError(`${where} is not base64: it must be ${KEY_BYTES} random bytes in base64 (generate one with \`openssl rand -base64 32\`)`);
  }
  const key = Buffer.from(text.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  if (key.length !== KEY_BYTES) {
    throw new PayloadKeyConfigError(
      `${where} decodes to ${key.length} bytes; AES-256-GCM needs exactly ${KEY_BYTES} (generate one with \`openssl rand -base64 32\`)`,
    );
  }
  return key;
}

function checkId(id: string, where: string): string {
  if (!KEY_ID.test(id)) throw new PayloadKeyConfigError(`${where} must be 1–64 characters of A–Z, a–z, 0–9, '.', '_' or '-'`);
  return id;
}

/** The keys the environment configures; `undefined` when it configures none. */
export function payloadKeysFromEnv(env: NodeJS.ProcessEnv = process.env): PayloadKeys | undefined {
  const all = new Map<string, PayloadKey>();
  const add = (k: PayloadKey, where: string) => {
    const other = all.get(k.id);
    if (other && !other.key.equals(k.key)) throw new PayloadKeyConfigError(`${where}: key id "${k.id}" is already used by another key`);
    all.set(k.id, k);
  };
  let current: PayloadKey | undefined;
  const rawKey = env[PAYLOAD_KEY_ENV];
  const rawId = env[PAYLOAD_KEY_ID_ENV];
  if (rawKey) {
    const key = parseKey(rawKey, PAYLOAD_KEY_ENV);
    current = { id: rawId ? checkId(rawId.trim(), PAYLOAD_KEY_ID_ENV) : deriveKeyId(key), key };
    add(current, PAYLOAD_KEY_ENV);
  } else if (rawId) {
    throw new PayloadKeyConfigError(`${PAYLOAD_KEY_ID_ENV} is set but ${PAYLOAD_KEY_ENV} is not: set both, or neither`);
  }
  const entries = (env[PAYLOAD_OLD_KEYS_ENV] ?? '').split(/[,\s]+/).filter(Boolean);
  entries.forEach((entry, i) => {
    const where = `${PAYLOAD_OLD_KEYS_ENV} entry ${i + 1}`;
    const colon = entry.indexOf(':');
    const key = parseKey(colon === -1 ? entry : entry.slice(colon + 1), where);
    add({ id: colon === -1 ? deriveKeyId(key) : checkId(entry.slice(0, colon), `${where}: the id before ':'`), key }, where);
  });
  return all.size ? { current, all } : undefined;
}
