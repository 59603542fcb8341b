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
import { Acknowledgement } from '../../providers/schemas';
import {
  AistudioCreateJobRequest,
  AistudioCreatedJob,
  AistudioDownloadRedirect,
  AistudioJobList,
  AistudioListJobsRequest,
  AistudioVideoJob,
  type AistudioDownload,
} from './schemas';

export { AISTUDIO_MAX_REFERENCE_IMAGES } from './schemas';

/** No production URL is documented; the docs' examples use this one (override with AISTUDIO_BASE_URL). */
export const AISTUDIO_DEFAULT_BASE_URL = PROVIDER_ENV.aistudio.defaultBaseUrl;

const CREATE = 'POST /video-jobs';

/** The 204 of DELETE (an empty body, read as `{}`); a body, if any, must be a JSON object. */
const Ack = Acknowledgement;

/** One method per documented endpoint; every answer is validated (see schemas.ts). */
export class AistudioClient {
  readonly #http: HttpClient;
  readonly #openFile: FileOpener | undefined;

  /** `openFile` opens image references that are not local paths (the worker passes its object store's). */
  constructor(opts: ProviderClientOptions & { openFile?: FileOpener }) {
    this.#http = providerHttpClient('aistudio', opts, { authorization: `Bearer ${opts.apiKey}` });
    this.#openFile = opts.openFile;
  }

  /** AISTUDIO_BASE_URL (default `http://localhost:8000/api/v1`) and AISTUDIO_TOKEN (the bearer token). */
  static fromEnv(env: NodeJS.ProcessEnv = process.env, extra: { dispatcher?: Dispatcher } = {}): AistudioClient {
    return AistudioClient.fromSettings(providerSettingsFromEnv('aistudio', env), extra);
  }

  /** From the worker's configuration (src/config.ts); a missing key fails here, naming its variable. */
  static fromSettings(settings: ProviderSettings, extra: { dispatcher?: Dispatcher; openFile?: FileOpener } = {}): AistudioClient {
    return new AistudioClient({ ...providerOptions(settings, extra), openFile: extra.openFile });
  }

  /**
   * Creates a job (50 tokens, taken at once). Multipart; image paths are streamed from disk as file
   * parts. 402 → InsufficientCreditsError (cost and availableTokens in message and details);
   * 429 (3 jobs PENDING/RUNNING) → RateLimitError without a retry delay.
   */
  async createJob(params: AistudioCreateJobRequest, o: CallOptions = {}): Promise<AistudioCreatedJob> {
    const p = validateRequest('aistudio', CREATE, AistudioCreateJobRequest, params);
    const form = new FormData();
    if (p.prompt !== undefined) form.append('prompt', p.prompt);
    form.append('model', p.model);
    form.append('resolution', p.resolution);
    form.append('aspectRatio', p.aspectRatio);
    if (p.durationSeconds !== undefined) form.append('durationSeconds', String(p.durationSeconds));
    form.append('mockMode', String(p.mockMode));
    if (p.generateAudio !== undefined) form.append('generateAudio', String(p.generateAudio));
    const files: Array<[field: string, param: string, path: string]> = [];
    if (p.initialImage !== undefined) files.push(['initialImage', 'initialImage', p.initialImage]);
    if (p.endFrame !== undefined) files.push(['endFrame', 'endFrame', p.endFrame]);
    (p.referenceImages ?? []).forEach((r, i) => files.push(['referenceImages', `referenceImages[${i}]`, r]));
    for (const [field, param, path] of files) {
      const part = await openFilePart('aistudio', CREATE, param, path, this.#openFile);
      form.append(field, part.blob, part.fileName);
    }
    return this.#http.call({ method: 'POST', path: '/video-jobs', endpoint: CREATE, body: form, schema: AistudioCreatedJob, signal: o.signal });
  }

  /** The job's status (the endpoint the docs poll); an answer without `id` keeps the id asked for. */
  async getJob(id: string, o: CallOptions = {}): Promise<AistudioVideoJob> {
    const job = await this.#http.call({
      method: 'GET',
      path: `/video-jobs/${pathSegment(id)}`,
      endpoint: 'GET /video-jobs/{id}',
      schema: AistudioVideoJob,
      signal: o.signal,
    });
    return { ...job, id: job.id ?? id };
  }

  /** The user's jobs, newest first (assumed), with the total for paging. */
  async listJobs(params: AistudioListJobsRequest = {}, o: CallOptions = {}): Promise<AistudioJobList> {
    const endpoint = 'GET /video-jobs';
    const q = validateRequest('aistudio', endpoint, AistudioListJobsRequest, params);
    return this.#http.call({
      method: 'GET',
      path: `/video-jobs${queryString({ status_filter: q.statusFilter, limit: q.limit, offset: q.offset })}`,
      endpoint,
      schema: AistudioJobList,
      signal: o.signal,
    });
  }

  /**
   * The video's URL from the 302 of GET /video-jobs/{id}/download, not followed: the streaming
   * downloader fetches it. 400 before SUCCEEDED, 404 unknown.
   */
  downloadUrl(id: string, o: CallOptions = {}): Promise<AistudioDownload> {
    return this.#http.call({
      method: 'GET',
      path: `/video-jobs/${pathSegment(id)}/download`,
      endpoint: 'GET /video-jobs/{id}/download',
      expect: 'redirect',
      schema: AistudioDownloadRedirect,
      signal: o.signal,
    });
  }

  /** Deletes the record only (a running job is not stopped; the video stays at the CDN). */
  async deleteJob(id: string, o: CallOptions = {}): Promise<void> {
    await this.#http.call({
      method: 'DELETE',
      path: `/video-jobs/${pathSegment(id)}`,
      endpoint: 'DELETE /video-jobs/{id}',
      schema: Ack,
      signal: o.signal,
    });
  }
}
