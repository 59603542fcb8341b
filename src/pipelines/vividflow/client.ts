import { FormData, type Dispatcher } from 'undici';
import {
  PROVIDER_ENV,
  providerHttpClient,
  providerOptions,
  providerSettingsFromEnv,
  type CallOptions,
  type ProviderClientOptions,
  type ProviderSettings,
} from '../../providers/config';
import { pathSegment, queryString, validateRequest, type HttpClient } from '../../providers/http';
import { openFilePart, type FileOpener } from '../../providers/multipart';
import {
  VividflowCancelResponse,
  VividflowGenerate,
  VividflowGenerateRequest,
  VividflowHistory,
  VividflowHistoryRequest,
  VividflowJobStatusResponse,
  VividflowUsage,
  vividflowFormFields,
  type VividflowCancel,
  type VividflowStatus,
} from './schemas';

export { VIVIDFLOW_DEFAULTS } from './schemas';

export const VIVIDFLOW_DEFAULT_BASE_URL = PROVIDER_ENV.vividflow.defaultBaseUrl;

const GENERATE = 'POST /generate';

/** One method per documented endpoint; every answer is validated (see schemas.ts). */
export class VividflowClient {
  readonly #http: HttpClient;
  readonly #openFile: FileOpener | undefined;

  /** `openFile` opens image references that are not local paths (the worker passes its object store's). */
  constructor(opts: ProviderClientOptions & { openFile?: FileOpener }) {
    this.#http = providerHttpClient('vividflow', opts, { 'x-api-key': opts.apiKey });
    this.#openFile = opts.openFile;
  }

  /** VIVIDFLOW_BASE_URL (default the production URL) and VIVIDFLOW_API_KEY. */
  static fromEnv(env: NodeJS.ProcessEnv = process.env, extra: { dispatcher?: Dispatcher } = {}): VividflowClient {
    return VividflowClient.fromSettings(providerSettingsFromEnv('vividflow', env), extra);
  }

  /** From the worker's configuration (src/config.ts); a missing key fails here, naming its variable. */
  static fromSettings(settings: ProviderSettings, extra: { dispatcher?: Dispatcher; openFile?: FileOpener } = {}): VividflowClient {
    return new VividflowClient({ ...providerOptions(settings, extra), openFile: extra.openFile });
  }

  /**
   * Queues a generation (one credit). `imagePath` goes as multipart (`image`, streamed from disk),
   * `imageUrl` as urlencoded `image_url`. Parameters are validated before anything is sent.
   */
  async generate(params: VividflowGenerateRequest, o: CallOptions = {}): Promise<VividflowGenerate> {
    const p = validateRequest('vividflow', GENERATE, VividflowGenerateRequest, params);
    const fields = vividflowFormFields(p);
    let body: FormData | URLSearchParams;
    if (p.imagePath !== undefined) {
      const image = await openFilePart('vividflow', GENERATE, 'imagePath', p.imagePath, this.#openFile);
      const form = new FormData();
      for (const [k, v] of fields) form.append(k, v);
      form.append('image', image.blob, image.fileName);
      body = form;
    } else {
      body = new URLSearchParams([...fields, ['image_url', p.imageUrl!]]);
    }
    return this.#http.call({ method: 'POST', path: '/generate', endpoint: GENERATE, body, schema: VividflowGenerate, signal: o.signal });
  }

  async status(jobId: string, o: CallOptions = {}): Promise<VividflowStatus> {
    const res = await this.#http.call({
      method: 'GET',
      path: `/status/${pathSegment(jobId)}`,
      endpoint: 'GET /status/{job_id}',
      schema: VividflowJobStatusResponse,
      signal: o.signal,
    });
    return { ...res, jobId: res.jobId ?? jobId };
  }

  /** Only a queued job can be cancelled; any other status is a 400 (BadRequestError). */
  async cancel(jobId: string, o: CallOptions = {}): Promise<VividflowCancel> {
    const res = await this.#http.call({
      method: 'POST',
      path: `/cancel/${pathSegment(jobId)}`,
      endpoint: 'POST /cancel/{job_id}',
      schema: VividflowCancelResponse,
      signal: o.signal,
    });
    return { message: res.message, jobId: res.jobId ?? jobId };
  }

  /** The key's recent jobs, newest first (assumed); `limit` 1–100, default 20. */
  async history(params: VividflowHistoryRequest = {}, o: CallOptions = {}): Promise<VividflowHistory> {
    const endpoint = 'GET /history';
    const { limit } = validateRequest('vividflow', endpoint, VividflowHistoryRequest, params);
    return this.#http.call({ method: 'GET', path: `/history${queryString({ limit })}`, endpoint, schema: VividflowHistory, signal: o.signal });
  }

  usage(o: CallOptions = {}): Promise<VividflowUsage> {
    return this.#http.call({ method: 'GET', path: '/usage', endpoint: 'GET /usage', schema: VividflowUsage, signal: o.signal });
  }
}
