import type { Dispatcher } from 'undici';
import { ProviderConfigError, type ProviderId } from './errors';
import { createHttpClient, type HttpClient } from './http';

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
  baseUrlVar: string;
  /** Absent for a provider without authentication (text2video). */
  apiKeyVar?: string;
  defaultBaseUrl: string;
}

/** The variables each provider is configured by, and its documented base URL. */
export const PROVIDER_ENV = {
  lipdub: { baseUrlVar: 'LIPDUB_BASE_URL', apiKeyVar: 'LIPDUB_API_KEY', defaultBaseUrl: 'https://api.lipdub.ai/v1' },
  dublab: { baseUrlVar: 'DUBLAB_BASE_URL', apiKeyVar: 'DUBLAB_API_KEY', defaultBaseUrl: 'https://dublab.app/api/v1' },
  text2video: { baseUrlVar: 'TEXT2VIDEO_BASE_URL', defaultBaseUrl: 'http://localhost:5000/api/v1' },
  vividflow: { baseUrlVar: 'VIVIDFLOW_BASE_URL', apiKeyVar: 'VIVIDFLOW_API_KEY', defaultBaseUrl: 'https://vivid.studioionique.com/api/v1' },
  aistudio: { baseUrlVar: 'AISTUDIO_BASE_URL', apiKeyVar: 'AISTUDIO_TOKEN', defaultBaseUrl: 'http://localhost:8000/api/v1' },
} as const satisfies Record<ProviderId, ProviderEnvSpec>;

/**
 * One provider's settings as the worker's configuration holds them (src/config.ts): the base URL,
 * checked at start, and the key, checked when first needed, since a worker may serve only some providers.
 */
export interface ProviderSettings extends ProviderEnvSpec {
  provider: ProviderId;
  baseUrl: string;
  apiKey: string | undefined;
}

/** The settings the environment gives a provider (`<PROVIDER>_BASE_URL`, `<PROVIDER>_API_KEY`), unchecked. */
export function providerSettingsFromEnv(provider: ProviderId, env: NodeJS.ProcessEnv = process.env): ProviderSettings {
  const spec: ProviderEnvSpec = PROVIDER_ENV[provider];
  return {
    ...spec,
    provider,
    baseUrl: env[spec.baseUrlVar]?.trim() || spec.defaultBaseUrl,
    apiKey: spec.apiKeyVar ? env[spec.apiKeyVar]?.trim() || undefined : undefined,
  };
}

/** Client options from a provider's settings; a missing key fails here, naming its variable. */
export function providerOptions(settings: ProviderSettings, extra: { dispatcher?: Dispatcher } = {}): ProviderClientOptions {
  const { provider, apiKey } = settings;
  if (!apiKey) throw new ProviderConfigError(provider, settings.apiKeyVar ?? 'apiKey', 'is not set');
  return { ...publicProviderOptions(settings, extra), apiKey };
}

/** Client options for a provider without authentication. */
export function publicProviderOptions(settings: ProviderSettings, extra: { dispatcher?: Dispatcher } = {}): PublicProviderClientOptions {
  checkBaseUrl(settings.provider, settings.baseUrlVar, settings.baseUrl);
  return { baseUrl: settings.baseUrl, ...(extra.dispatcher ? { dispatcher: extra.dispatcher } : {}) };
}

/**
 * The HTTP core of one provider's client, built in its constructor: the options are checked first, so a
 * bad configuration fails before the first call, naming the setting (a key where the provider takes one,
 * PROVIDER_ENV says which); `authHeaders` go with every call and are redacted from every error.
 */
export function providerHttpClient(provider: ProviderId, opts: PublicProviderClientOptions & { apiKey?: string }, authHeaders: Record<string, string>): HttpClient {
  const spec: ProviderEnvSpec = PROVIDER_ENV[provider];
  if (spec.apiKeyVar !== undefined && (!opts.apiKey || opts.apiKey.trim() === '')) throw new ProviderConfigError(provider, 'apiKey', 'is empty');
  checkPublicClientOptions(provider, opts);
  return createHttpClient({ provider, baseUrl: opts.baseUrl, headers: authHeaders, dispatcher: opts.dispatcher, timeoutMs: opts.timeoutMs });
}

function checkPublicClientOptions(provider: ProviderId, opts: PublicProviderClientOptions): void {
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
