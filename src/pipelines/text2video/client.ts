import type { Dispatcher } from 'undici';
import {
  PROVIDER_ENV,
  providerHttpClient,
  providerSettingsFromEnv,
  publicProviderOptions,
  type CallOptions,
  type ProviderSettings,
  type PublicProviderClientOptions,
} from '../../providers/config';
import { pathSegment, type HttpClient } from '../../providers/http';
import {
  Text2videoGenerate,
  Text2videoGenerateRequest,
  Text2videoJobList,
  Text2videoJobStatusResponse,
  type Text2videoJob,
  type Text2videoStatus,
} from './schemas';

export const TEXT2VIDEO_DEFAULT_BASE_URL = PROVIDER_ENV.text2video.defaultBaseUrl;

/**
 * `GET {base}/download/{job_id}`: the video itself (video/mp4 with Content-Length). The streaming
 * downloader fetches it; a non-2xx (400 not ready, 404, 500) is classified by errorFromResponse.
 */
export function text2videoDownloadUrl(baseUrl: string, jobId: string): string {
  return `${baseUrl.replace(/\/+$/, '')}/download/${pathSegment(jobId)}`;
}

/** One method per documented endpoint; no authentication (docs). Jobs live in the server's memory. */
export class Text2videoClient {
  readonly #http: HttpClient;
  readonly #baseUrl: string;

  constructor(opts: PublicProviderClientOptions) {
    this.#http = providerHttpClient('text2video', opts, {});
    this.#baseUrl = opts.baseUrl.replace(/\/+$/, '');
  }

  /** TEXT2VIDEO_BASE_URL (default `http://localhost:5000/api/v1`); there is no key. */
  static fromEnv(env: NodeJS.ProcessEnv = process.env, extra: { dispatcher?: Dispatcher } = {}): Text2videoClient {
    return Text2videoClient.fromSettings(providerSettingsFromEnv('text2video', env), extra);
  }

  /** From the worker's configuration (src/config.ts); a missing key fails here, naming its variable. */
  static fromSettings(settings: ProviderSettings, extra: { dispatcher?: Dispatcher } = {}): Text2videoClient {
    return new Text2videoClient(publicProviderOptions(settings, extra));
  }

  generate(body: Text2videoGenerateRequest, o: CallOptions = {}): Promise<Text2videoGenerate> {
    return this.#http.call({
      method: 'POST',
      path: '/generate',
      endpoint: 'POST /generate',
      body,
      bodySchema: Text2videoGenerateRequest,
      schema: Text2videoGenerate,
      signal: o.signal,
    });
  }

  status(jobId: string, o: CallOptions = {}): Promise<Text2videoStatus> {
    return this.#http.call({
      method: 'GET',
      path: `/status/${pathSegment(jobId)}`,
      endpoint: 'GET /status/{job_id}',
      schema: Text2videoJobStatusResponse,
      signal: o.signal,
    });
  }

  /** Every job the server remembers (none survive its restart). */
  listJobs(o: CallOptions = {}): Promise<Text2videoJob[]> {
    return this.#http.call({ method: 'GET', path: '/jobs', endpoint: 'GET /jobs', schema: Text2videoJobList, signal: o.signal });
  }

  /** The URL the streaming downloader GETs (no request is made here). */
  downloadUrl(jobId: string): string {
    return text2videoDownloadUrl(this.#baseUrl, jobId);
  }

  /** `downloadUrl` with the headers to send (none: text2video has no authentication). */
  download(jobId: string): { url: string; headers: Record<string, string> } {
    return { url: this.downloadUrl(jobId), headers: {} };
  }
}
