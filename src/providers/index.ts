export * from './errors';
export {
  createHttpClient,
  pathSegment,
  parseRetryAfter,
  queryString,
  redactUrl,
  validateRequest,
  DEFAULT_TIMEOUT_MS,
  MAX_RESPONSE_BYTES,
} from './http';
export type { HttpClient, HttpClientOptions, HttpMethod, HttpRequest, RedirectAnswer } from './http';
export { redactText } from './redact';
export { PROVIDER_ENV, providerOptions, providerSettingsFromEnv, publicProviderOptions } from './config';
export type { CallOptions, ProviderClientOptions, ProviderEnvSpec, ProviderSettings, PublicProviderClientOptions } from './config';
export { openFilePart } from './multipart';
export { LipdubClient, LIPDUB_DEFAULT_BASE_URL } from '../pipelines/lipdub/client';
export * from '../pipelines/lipdub/schemas';
export { DublabClient, DUBLAB_DEFAULT_BASE_URL } from '../pipelines/dublab/client';
export * from '../pipelines/dublab/schemas';
export { Text2videoClient, TEXT2VIDEO_DEFAULT_BASE_URL, text2videoDownloadUrl } from '../pipelines/text2video/client';
export * from '../pipelines/text2video/schemas';
export { VividflowClient, VIVIDFLOW_DEFAULT_BASE_URL } from '../pipelines/vividflow/client';
export * from '../pipelines/vividflow/schemas';
export { AistudioClient, AISTUDIO_DEFAULT_BASE_URL } from '../pipelines/aistudio/client';
export * from '../pipelines/aistudio/schemas';
