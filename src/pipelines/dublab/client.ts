import type { Dispatcher } from 'undici';
import {
  PROVIDER_ENV,
  providerHttpClient,
  providerOptions,
  providerSettingsFromEnv,
  type CallOptions,
  type ProviderClientOptions,
  type ProviderSettings,
} from '../../providers/config';
import { ResponseValidationError } from '../../providers/errors';
import { pathSegment, type HttpClient } from '../../providers/http';
import {
  DublabDubList,
  DublabDubOutputs,
  DublabInitDub,
  DublabInitDubGroupRequest,
  DublabInitDubGroupResponse,
  DublabInitDubRequest,
  DublabMe,
  DublabStartDubRequest,
  DublabStartDubResponse,
  type DublabDub,
  type DublabInitDubGroup,
  type DublabStartDub,
} from './schemas';

export { DUBLAB_OUTPUT_TYPES, DUBLAB_STATUS, DUBLAB_STATUS_IDS, isDocumentedDublabStatus } from './schemas';

export const DUBLAB_DEFAULT_BASE_URL = PROVIDER_ENV.dublab.defaultBaseUrl;

/** One method per documented endpoint; every answer is validated (see schemas.ts). */
export class DublabClient {
  readonly #http: HttpClient;

  constructor(opts: ProviderClientOptions) {
    this.#http = providerHttpClient('dublab', opts, { apikey: opts.apiKey });
  }

  /** DUBLAB_BASE_URL (default the production URL) and DUBLAB_API_KEY. */
  static fromEnv(env: NodeJS.ProcessEnv = process.env, extra: { dispatcher?: Dispatcher } = {}): DublabClient {
    return DublabClient.fromSettings(providerSettingsFromEnv('dublab', env), extra);
  }

  /** From the worker's configuration (src/config.ts); a missing key fails here, naming its variable. */
  static fromSettings(settings: ProviderSettings, extra: { dispatcher?: Dispatcher } = {}): DublabClient {
    return new DublabClient(providerOptions(settings, extra));
  }

  me(o: CallOptions = {}): Promise<DublabMe> {
    return this.#http.call({ method: 'GET', path: '/me', endpoint: 'GET /me', schema: DublabMe, signal: o.signal });
  }

  /**
   * Every dub of the account: the endpoint the docs say to poll ("Check GET /dubs until externalStatusId
   * = 5"). One call answers for every language of a run.
   */
  listDubs(o: CallOptions = {}): Promise<DublabDub[]> {
    return this.#http.call({ method: 'GET', path: '/dubs', endpoint: 'GET /dubs', schema: DublabDubList, signal: o.signal });
  }

  /** The outputs map of one dub (empty until it completes); no status: that comes from listDubs. */
  dubOutputs(fileId: string, o: CallOptions = {}): Promise<DublabDubOutputs> {
    return this.#http.call({
      method: 'GET',
      path: `/dubs/${pathSegment(fileId)}/outputs`,
      endpoint: 'GET /dubs/{fileId}/outputs',
      schema: DublabDubOutputs,
      signal: o.signal,
    });
  }

  initDub(body: DublabInitDubRequest, o: CallOptions = {}): Promise<DublabInitDub> {
    return this.#http.call({
      method: 'POST',
      path: '/init-dub',
      endpoint: 'POST /init-dub',
      body,
      bodySchema: DublabInitDubRequest,
      schema: DublabInitDub,
      signal: o.signal,
    });
  }

  /**
   * One file per requested language, or a ResponseValidationError naming the languages left out. The docs
   * show files without a language (`.files[].fileId`): a file that names none takes the requested
   * languages no other file named, in request order (the docs' flow lists one file per `dest_langs` entry).
   */
  async initDubGroup(body: DublabInitDubGroupRequest, o: CallOptions = {}): Promise<DublabInitDubGroup> {
    const endpoint = 'POST /init-dub-group';
    const answer = await this.#http.call({
      method: 'POST',
      path: '/init-dub-group',
      endpoint,
      body,
      bodySchema: DublabInitDubGroupRequest,
      schema: DublabInitDubGroupResponse,
      signal: o.signal,
    });
    const named = new Set(answer.files.flatMap((f) => (f.destLang ? [f.destLang] : [])));
    const leftOver = body.dest_langs.filter((l) => !named.has(l));
    const files = answer.files.flatMap((f) => {
      const destLang = f.destLang ?? leftOver.shift();
      return destLang ? [{ fileId: f.fileId, destLang }] : [];
    });
    const group: DublabInitDubGroup = { projectId: answer.projectId, uploadUrl: answer.uploadUrl, files };
    const answered = new Set(group.files.map((f) => f.destLang));
    const missing = body.dest_langs.filter((l) => !answered.has(l));
    if (missing.length) {
      throw new ResponseValidationError({
        method: 'POST',
        provider: 'dublab',
        endpoint,
        status: 200,
        message: `DubLab ${endpoint}: files: no file for dest_langs ${missing.join(', ')} (got ${[...answered].join(', ') || 'none'})`,
        details: [{ path: 'files', code: 'custom', message: `no file for ${missing.join(', ')}` }],
      });
    }
    return group;
  }

  async startDub(fileId: string, o: CallOptions = {}): Promise<DublabStartDub> {
    const res = await this.#http.call({
      method: 'POST',
      path: '/start-dub',
      endpoint: 'POST /start-dub',
      body: { fileId },
      bodySchema: DublabStartDubRequest,
      schema: DublabStartDubResponse,
      signal: o.signal,
    });
    return { ...res, fileId: res.fileId ?? fileId };
  }
}
