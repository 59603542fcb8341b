import type { Dispatcher } from 'undici';
import { ProviderConfigError, type ProviderId } from './errors';

/** What every provider client is built from; the API key never leaves the client's HTTP closure. */
export interface ProviderClientOptions {
  baseUrl: string;
  apiKey: string;
  dispatcher?: Dispatcher;
  timeoutMs?: number;
}

/** A provider without authentication (text2video): the same options without the key. */
export type PublicProviderClientOptions = Omit<ProviderClientOptions, 'apiKey'>;

export interface CallOptions {
  signal?: AbortSignal;
}

export interface ProviderEnvSpec {
  provider: ProviderId;
  baseUrlVar: string;
  apiKeyVar: string;
  defaultBaseUrl: string;
}

/** Reads `<PROVIDER>_BASE_URL` (documented production URL by default) and `<PROVIDER>_API_KEY`. */
export function providerOptionsFromEnv(
  spec: ProviderEnvSpec,
  env: NodeJS.ProcessEnv = process.env,
  extra: { dispatcher?: Dispatcher } = {},
): ProviderClientOptions {
  const apiKey = env[spec.apiKeyVar]?.trim();
  if (!apiKey) throw new ProviderConfigError(spec.provider, spec.apiKeyVar, 'is not set');
  const baseUrl = env[spec.baseUrlVar]?.trim() || spec.defaultBaseUrl;
  checkBaseUrl(spec.provider, spec.baseUrlVar, baseUrl);
  return { baseUrl, apiKey, ...(extra.dispatcher ? { dispatcher: extra.dispatcher } : {}) };
}

/** `<PROVIDER>_BASE_URL` (documented default otherwise) for a provider without authentication. */
export function publicProviderOptionsFromEnv(
  spec: Omit<ProviderEnvSpec, 'apiKeyVar'>,
  env: NodeJS.ProcessEnv = process.env,
  extra: { dispatcher?: Dispatcher } = {},
): PublicProviderClientOptions {
  const baseUrl = env[spec.baseUrlVar]?.trim() || spec.defaultBaseUrl;
  checkBaseUrl(spec.provider, spec.baseUrlVar, baseUrl);
  return { baseUrl, ...(extra.dispatcher ? { dispatcher: extra.dispatcher } : {}) };
}

/** Constructor-time checks, so a bad configuration fails before the first call, naming the setting. */
export function checkClientOptions(provider: ProviderId, opts: ProviderClientOptions): void {
  if (!opts.apiKey || opts.apiKey.trim() === '') throw new ProviderConfigError(provider, 'apiKey', 'is empty');
  checkPublicClientOptions(provider, opts);
}

export function checkPublicClientOptions(provider: ProviderId, opts: PublicProviderClientOptions): void {
  checkBaseUrl(provider, 'baseUrl', opts.baseUrl);
  if (opts.timeoutMs !== undefined && !(opts.timeoutMs > 0)) {
    throw new ProviderConfigError(provider, 'timeoutMs', 'must be a positive number');
  }
}

function checkBaseUrl(provider: ProviderId, variable: string, value: string): void {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ProviderConfigError(provider, variable, 'is not a valid URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ProviderConfigError(provider, variable, 'must be an http(s) URL');
  }
}
