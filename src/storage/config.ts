import path from 'node:path';
import type { Problems } from '../config';
import { LocationError, parseLocation, type S3Location } from './location';

/**
 * Where outputs go and how the S3 store is reached, read with the rest of the configuration (loadConfig).
 *
 *   REELAY_OUTPUT_URL            s3://bucket/prefix or a local directory; wins over REELAY_OUTPUT_DIR
 *   REELAY_OUTPUT_DIR            a local directory as before (default ./output), or s3://bucket/prefix
 *   REELAY_S3_ENDPOINT           http(s) URL of an S3-compatible service; unset = AWS S3
 *   REELAY_S3_REGION             default AWS_REGION, AWS_DEFAULT_REGION, else us-east-1
 *   REELAY_S3_FORCE_PATH_STYLE   true/false; default true when REELAY_S3_ENDPOINT is set (self-hosted
 *                                stores rarely have bucket subdomains), false for AWS S3
 *
 * Credentials come from the AWS SDK's default chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY,
 * AWS_PROFILE and ~/.aws, web identity, container and instance roles): never from Reelay's own variables,
 * and never into a workflow's history.
 */

export type OutputLocation = { kind: 'local'; path: string } | S3Location;

export interface S3Settings {
  endpoint: string | undefined;
  region: string;
  forcePathStyle: boolean;
}

export interface StorageSettings {
  output: OutputLocation;
  /** Which variable set the output location (for messages). */
  outputVar: 'REELAY_OUTPUT_URL' | 'REELAY_OUTPUT_DIR';
  s3: S3Settings;
}

export const DEFAULT_S3_REGION = 'us-east-1';

const TRUE = ['1', 'true', 'yes', 'on'];
const FALSE = ['0', 'false', 'no', 'off'];

function readOutput(env: NodeJS.ProcessEnv, problems: Problems): { output: OutputLocation; outputVar: StorageSettings['outputVar'] } {
  const fallback: OutputLocation = { kind: 'local', path: path.resolve('output') };
  for (const name of ['REELAY_OUTPUT_URL', 'REELAY_OUTPUT_DIR'] as const) {
    const raw = env[name]?.trim();
    if (!raw) continue;
    try {
      const loc = parseLocation(raw);
      if (loc.kind === 'http') throw new LocationError('cannot be an http(s) URL');
      return { output: loc.kind === 'local' ? { kind: 'local', path: path.resolve(loc.path) } : loc, outputVar: name };
    } catch (err) {
      if (!(err instanceof LocationError)) throw err;
      const accepts = err.message.includes('accepted:') ? '' : '; accepts a local directory or s3://bucket/prefix';
      problems.add(`${name}=${JSON.stringify(raw)}: ${err.message}${accepts}`);
      return { output: fallback, outputVar: name };
    }
  }
  return { output: fallback, outputVar: 'REELAY_OUTPUT_DIR' };
}

export function readStorageSettings(env: NodeJS.ProcessEnv, problems: Problems): StorageSettings {
  const { output, outputVar } = readOutput(env, problems);
  let endpoint: string | undefined;
  const rawEndpoint = env.REELAY_S3_ENDPOINT?.trim();
  if (rawEndpoint) {
    let url: URL | undefined;
    try {
      url = new URL(rawEndpoint);
    } catch {
      url = undefined;
    }
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || !url.hostname) {
      problems.add(`REELAY_S3_ENDPOINT=${JSON.stringify(rawEndpoint)}: must be an http(s) URL of an S3-compatible service (e.g. http://127.0.0.1:7070)`);
    } else if (url.username || url.password) {
      problems.add('REELAY_S3_ENDPOINT: must not carry a user name or password (credentials come from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE)');
    } else {
      endpoint = rawEndpoint.replace(/\/+$/, '');
    }
  }
  const rawRegion = env.REELAY_S3_REGION?.trim();
  if (rawRegion !== undefined && rawRegion !== '' && !/^[a-z0-9-]{1,64}$/i.test(rawRegion)) {
    problems.add(`REELAY_S3_REGION=${JSON.stringify(rawRegion)}: must be a region name like us-east-1 (letters, digits and "-")`);
  }
  const region = (rawRegion && /^[a-z0-9-]{1,64}$/i.test(rawRegion) ? rawRegion : undefined) || env.AWS_REGION?.trim() || env.AWS_DEFAULT_REGION?.trim() || DEFAULT_S3_REGION;
  let forcePathStyle = rawEndpoint !== undefined && rawEndpoint !== '';
  const rawStyle = env.REELAY_S3_FORCE_PATH_STYLE?.trim().toLowerCase();
  if (rawStyle) {
    if (TRUE.includes(rawStyle)) forcePathStyle = true;
    else if (FALSE.includes(rawStyle)) forcePathStyle = false;
    else problems.add(`REELAY_S3_FORCE_PATH_STYLE=${JSON.stringify(env.REELAY_S3_FORCE_PATH_STYLE)}: must be true or false`);
  }
  return { output, outputVar, s3: { endpoint, region, forcePathStyle } };
}
