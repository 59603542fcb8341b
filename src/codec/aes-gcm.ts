import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { PAYLOAD_KEY_ENV, PAYLOAD_OLD_KEYS_ENV, type PayloadKeys } from './keys';
import { decodePayloadProto, encodePayloadProto } from './payload-proto';

export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const KEY_ID_METADATA = 'encryption-key-id';
export const CIPHER_METADATA = 'encryption-cipher';
export const CIPHER = 'AES-256-GCM';

const IV_BYTES = 12;
const TAG_BYTES = 16;

const utf8 = (s: string) => new Uint8Array(Buffer.from(s, 'utf8'));
const text = (b: Uint8Array | null | undefined) => (b ? Buffer.from(b).toString('utf8') : undefined);

/** A payload that cannot be decrypted here: which key it needs and why, never any of its content. */
export class PayloadDecryptionError extends Error {
  override name = 'PayloadDecryptionError';
  constructor(
    message: string,
    readonly keyId: string | undefined,
  ) {
    super(message);
  }
}

/** The additional authenticated data: binds the ciphertext to the key id it claims. */
function aad(keyId: string): Buffer {
  return Buffer.from(`reelay-payload/v1:${keyId}`, 'utf8');
}

/**
 * Encrypts every payload with AES-256-GCM under the current key (a random 12-byte IV each time) and
 * decrypts with whichever configured key the payload's `encryption-key-id` names, so keys can rotate.
 * Payloads that are not `binary/encrypted` pass through `decode` untouched (histories from before
 * encryption was turned on stay readable). With no current key it encrypts nothing and only decrypts.
 */
export class AesGcmPayloadCodec implements PayloadCodec {
  constructor(private readonly keys: PayloadKeys | undefined) {}

  /** True when new payloads are encrypted. */
  get encrypting(): boolean {
    return this.keys?.current !== undefined;
  }

  get keyId(): string | undefined {
    return this.keys?.current?.id;
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    const current = this.keys?.current;
    if (!current) return payloads;
    return payloads.map((payload) => {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', current.key, iv, { authTagLength: TAG_BYTES });
      cipher.setAAD(aad(current.id));
      const sealed = Buffer.concat([iv, cipher.update(encodePayloadProto(payload)), cipher.final(), cipher.getAuthTag()]);
      return {
        metadata: { encoding: utf8(ENCRYPTED_ENCODING), [KEY_ID_METADATA]: utf8(current.id), [CIPHER_METADATA]: utf8(CIPHER) },
        data: new Uint8Array(sealed),
      };
    });
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => (text(payload.metadata?.encoding) === ENCRYPTED_ENCODING ? this.decrypt(payload) : payload));
  }

  private decrypt(payload: Payload): Payload {
    const keyId = text(payload.metadata?.[KEY_ID_METADATA]);
    const cipherName = text(payload.metadata?.[CIPHER_METADATA]);
    if (cipherName !== undefined && cipherName !== CIPHER) {
      throw new PayloadDecryptionError(`cannot decrypt a payload encrypted with ${cipherName}: only ${CIPHER} is supported`, keyId);
    }
    if (!keyId) throw new PayloadDecryptionError(`cannot decrypt a ${ENCRYPTED_ENCODING} payload: it names no ${KEY_ID_METADATA}`, undefined);
    const entry = this.keys?.all.get(keyId);
    if (!entry) {
      throw new PayloadDecryptionError(
        this.keys
          ? `cannot decrypt a payload encrypted with key id "${keyId}": no such key is configured (${PAYLOAD_KEY_ENV}, ${PAYLOAD_OLD_KEYS_ENV} know ${[...this.keys.all.keys()].map((k) => `"${k}"`).join(', ')})`
          : `cannot decrypt a payload encrypted with key id "${keyId}": no payload key is configured (set ${PAYLOAD_KEY_ENV}, or list it in ${PAYLOAD_OLD_KEYS_ENV})`,
        keyId,
      );
    }
    const data = Buffer.from(payload.data ?? new Uint8Array(0));
    if (data.length < IV_BYTES + TAG_BYTES) throw new PayloadDecryptionError(`cannot decrypt a payload with key id "${keyId}": it is too short to be ${CIPHER}`, keyId);
    let plain: Buffer;
    try {
      const decipher = createDecipheriv('aes-256-gcm', entry.key, data.subarray(0, IV_BYTES), { authTagLength: TAG_BYTES });
      decipher.setAAD(aad(keyId));
      decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
      plain = Buffer.concat([decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)), decipher.final()]);
    } catch {
      throw new PayloadDecryptionError(
        `cannot decrypt a payload with key id "${keyId}": authentication failed (the ciphertext was altered, or the key configured under that id is not the one it was encrypted with)`,
        keyId,
      );
    }
    return decodePayloadProto(plain);
  }
}
