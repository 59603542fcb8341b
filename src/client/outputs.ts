import type { Client } from '@temporalio/client';
import type { StorageSettings } from '../storage/config';
import type { Store } from '../storage/s3';

/**
 * Links to a run's outputs for people and services. Results name what they delivered to an object store
 * by `uri` (`s3://bucket/key`), never by a signed URL (that is a credential, and results live in
 * history); a link is minted here, on demand, by whoever holds store credentials, and goes nowhere near
 * a workflow.
 */

export interface StoredOutput {
  /** Where in the result it was found, e.g. `languages.0.video` or `resultsPath`. */
  label: string;
  uri: string;
  bytes?: number;
  sha256?: string;
}

export interface OutputLink extends StoredOutput {
  /** A presigned GET URL: anyone holding it can read the object until `expiresAt`. */
  url: string;
  expiresAt: string;
}

const S3_URI = /^s3:\/\/[^/]+\/.+/i;
/** Result fields that name a batch's files rather than a delivered output. */
const REF_FIELDS = new Set(['resultsPath', 'manifestPath']);

/** Every object-store output a result (or a failure's details) names, in the order they appear. */
export function storedOutputs(result: unknown): StoredOutput[] {
  const out: StoredOutput[] = [];
  const seen = new Set<string>();
  const add = (o: StoredOutput) => {
    if (seen.has(o.uri)) return;
    seen.add(o.uri);
    out.push(o);
  };
  const walk = (v: unknown, at: string[], depth: number): void => {
    if (!v || typeof v !== 'object' || depth > 8) return;
    const o = v as Record<string, unknown>;
    if (typeof o.uri === 'string' && S3_URI.test(o.uri)) {
      add({
        label: at.join('.') || 'output',
        uri: o.uri,
        ...(typeof o.bytes === 'number' ? { bytes: o.bytes } : {}),
        ...(typeof o.sha256 === 'string' ? { sha256: o.sha256 } : {}),
      });
      return;
    }
    for (const [k, x] of Array.isArray(v) ? v.entries() : Object.entries(o)) {
      if (typeof x === 'string' && REF_FIELDS.has(String(k)) && S3_URI.test(x)) add({ label: [...at, String(k)].join('.'), uri: x });
      else walk(x, [...at, String(k)], depth + 1);
    }
  };
  walk(result, [], 0);
  return out;
}

/** What a closed run left: its result, or the details of its failure (a partial failure lists what was delivered). */
async function closedRunOutputs(client: Client, workflowId: string): Promise<{ status: string; outputs: StoredOutput[] }> {
  const handle = client.workflow.getHandle(workflowId);
  const desc = await handle.describe();
  const status = desc.status.name;
  if (status === 'RUNNING') return { status, outputs: [] };
  const { WorkflowFailedError } = await import('@temporalio/client');
  try {
    return { status, outputs: storedOutputs(await handle.result()) };
  } catch (err) {
    if (!(err instanceof WorkflowFailedError)) throw err;
    const details: unknown[] = [];
    for (let e: unknown = err.cause, depth = 0; e && depth < 10; e = (e as { cause?: unknown }).cause, depth++) {
      const d = (e as { details?: unknown }).details;
      if (d) details.push(d);
    }
    return { status, outputs: storedOutputs(details) };
  }
}

/** Longest link: SigV4 presigned URLs are valid for at most 7 days. */
export const MAX_LINK_SECONDS = 7 * 24 * 3600;

export interface OutputLinkOptions {
  /** How long the links are valid, in seconds (default 3600, at most 7 days). */
  expiresInSeconds?: number;
  /** Storage settings already loaded (endpoint, region, path style); read from the environment (REELAY_S3_*) when unset. */
  storage?: StorageSettings;
  /** The store client to sign with (default: one built from the settings, credentials from the AWS SDK chain). */
  store?: Store;
}

/**
 * Presigned GET links to everything a closed run stored (`reelay output url`): the run's result is read
 * from Temporal, each `s3://` output is signed here with this process's store credentials. Nothing is
 * written anywhere: a link lives only in what this returns. A running workflow has no outputs yet
 * (throws); a run whose outputs stayed on a worker's disk returns none.
 */
export async function outputLinks(client: Client, workflowId: string, opts: OutputLinkOptions = {}): Promise<OutputLink[]> {
  const expires = opts.expiresInSeconds ?? 3600;
  if (!Number.isInteger(expires) || expires < 1 || expires > MAX_LINK_SECONDS) {
    throw new RangeError(`expiresInSeconds must be a whole number of seconds from 1 to ${MAX_LINK_SECONDS} (7 days)`);
  }
  const { status, outputs } = await closedRunOutputs(client, workflowId);
  if (status === 'RUNNING') throw new Error(`${workflowId} is still running: its outputs are named once it has finished`);
  if (!outputs.length) return [];
  const { presignGet } = await import('../storage/s3');
  const { parseS3Uri } = await import('../storage/location');
  let store = opts.store;
  if (!store) {
    const { loadStorageConfig } = await import('../config');
    const { storeFor } = await import('../pipelines/batch/records');
    store = storeFor((opts.storage ?? loadStorageConfig()).s3);
  }
  const expiresAt = new Date(Date.now() + expires * 1000).toISOString();
  const links: OutputLink[] = [];
  for (const o of outputs) links.push({ ...o, url: await presignGet(store, parseS3Uri(o.uri, { requireKey: true }), expires), expiresAt });
  return links;
}
