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
import { pathSegment, type HttpClient } from '../../providers/http';
import { Acknowledgement } from '../../providers/schemas';
import {
  LipdubAudioList,
  LipdubAudioStatus,
  LipdubGenerate,
  LipdubGenerateDownload,
  LipdubGenerateRequest,
  LipdubGeneration,
  LipdubInitAudio,
  LipdubInitAudioRequest,
  LipdubInitVideo,
  LipdubInitVideoRequest,
  LipdubShotList,
  LipdubShotStatus,
  LipdubVideoStatus,
  LipdubVideoSuccess,
  lipdubEnvelope,
  type LipdubAudioState,
  type LipdubGenerationState,
} from './schemas';

export const LIPDUB_DEFAULT_BASE_URL = PROVIDER_ENV.lipdub.defaultBaseUrl;

/** Acknowledgement bodies (`{}` or `{ data: … }`): any JSON object, nothing in it relied on. */
const Ack = Acknowledgement;

/** One method per documented endpoint; responses come back unwrapped from `data` and validated. */
export class LipdubClient {
  readonly #http: HttpClient;

  constructor(opts: ProviderClientOptions) {
    this.#http = providerHttpClient('lipdub', opts, { 'x-api-key': opts.apiKey });
  }

  /** LIPDUB_BASE_URL (default the production URL) and LIPDUB_API_KEY. */
  static fromEnv(env: NodeJS.ProcessEnv = process.env, extra: { dispatcher?: Dispatcher } = {}): LipdubClient {
    return LipdubClient.fromSettings(providerSettingsFromEnv('lipdub', env), extra);
  }

  /** From the worker's configuration (src/config.ts); a missing key fails here, naming its variable. */
  static fromSettings(settings: ProviderSettings, extra: { dispatcher?: Dispatcher } = {}): LipdubClient {
    return new LipdubClient(providerOptions(settings, extra));
  }

  async initVideo(body: LipdubInitVideoRequest, o: CallOptions = {}): Promise<LipdubInitVideo> {
    const res = await this.#http.call({
      method: 'POST',
      path: '/video',
      endpoint: 'POST /video',
      body,
      bodySchema: LipdubInitVideoRequest,
      schema: lipdubEnvelope(LipdubInitVideo),
      signal: o.signal,
    });
    return res.data;
  }

  /** The shot id when the answer carries one; without it, GET /video/status gives it later (docs' flow, step 3). */
  async videoSuccess(videoId: string, o: CallOptions = {}): Promise<LipdubVideoSuccess> {
    const res = await this.#http.call({
      method: 'POST',
      path: `/video/success/${pathSegment(videoId)}`,
      endpoint: 'POST /video/success/{video_id}',
      schema: LipdubVideoSuccess,
      signal: o.signal,
    });
    return res;
  }

  async videoFailure(videoId: string, o: CallOptions = {}): Promise<void> {
    await this.#http.call({
      method: 'POST',
      path: `/video/failure/${pathSegment(videoId)}`,
      endpoint: 'POST /video/failure/{video_id}',
      schema: Ack,
      signal: o.signal,
    });
  }

  async videoStatus(videoId: string, o: CallOptions = {}): Promise<LipdubVideoStatus> {
    const res = await this.#http.call({
      method: 'GET',
      path: `/video/status/${pathSegment(videoId)}`,
      endpoint: 'GET /video/status/{video_id}',
      schema: lipdubEnvelope(LipdubVideoStatus),
      signal: o.signal,
    });
    return res.data;
  }

  async initAudio(body: LipdubInitAudioRequest, o: CallOptions = {}): Promise<LipdubInitAudio> {
    const res = await this.#http.call({
      method: 'POST',
      path: '/audio',
      endpoint: 'POST /audio',
      body,
      bodySchema: LipdubInitAudioRequest,
      schema: lipdubEnvelope(LipdubInitAudio),
      signal: o.signal,
    });
    return res.data;
  }

  async audioSuccess(audioId: string, o: CallOptions = {}): Promise<void> {
    await this.#http.call({
      method: 'POST',
      path: `/audio/success/${pathSegment(audioId)}`,
      endpoint: 'POST /audio/success/{audio_id}',
      schema: Ack,
      signal: o.signal,
    });
  }

  async audioStatus(audioId: string, o: CallOptions = {}): Promise<LipdubAudioState> {
    const res = await this.#http.call({
      method: 'GET',
      path: `/audio/status/${pathSegment(audioId)}`,
      endpoint: 'GET /audio/status/{audio_id}',
      schema: lipdubEnvelope(LipdubAudioStatus),
      signal: o.signal,
    });
    return { ...res.data, audio_id: res.data.audio_id ?? String(audioId) };
  }

  listAudio(o: CallOptions = {}): Promise<LipdubAudioList> {
    return this.#http.call({ method: 'GET', path: '/audio', endpoint: 'GET /audio', schema: LipdubAudioList, signal: o.signal });
  }

  listShots(o: CallOptions = {}): Promise<LipdubShotList> {
    return this.#http.call({ method: 'GET', path: '/shots', endpoint: 'GET /shots', schema: LipdubShotList, signal: o.signal });
  }

  async shotStatus(shotId: number | string, o: CallOptions = {}): Promise<LipdubShotStatus> {
    const res = await this.#http.call({
      method: 'GET',
      path: `/shots/${pathSegment(shotId)}/status`,
      endpoint: 'GET /shots/{shot_id}/status',
      schema: lipdubEnvelope(LipdubShotStatus),
      signal: o.signal,
    });
    return res.data;
  }

  async generate(shotId: number | string, body: LipdubGenerateRequest, o: CallOptions = {}): Promise<LipdubGenerate> {
    const res = await this.#http.call({
      method: 'POST',
      path: `/shots/${pathSegment(shotId)}/generate`,
      endpoint: 'POST /shots/{shot_id}/generate',
      body,
      bodySchema: LipdubGenerateRequest,
      schema: lipdubEnvelope(LipdubGenerate),
      signal: o.signal,
    });
    return res.data;
  }

  async generateStatus(
    shotId: number | string,
    generateId: string,
    o: CallOptions = {},
  ): Promise<LipdubGenerationState> {
    const res = await this.#http.call({
      method: 'GET',
      path: `/shots/${pathSegment(shotId)}/generate/${pathSegment(generateId)}`,
      endpoint: 'GET /shots/{shot_id}/generate/{generate_id}',
      schema: lipdubEnvelope(LipdubGeneration),
      signal: o.signal,
    });
    return { ...res.data, generateId: res.data.generateId ?? String(generateId) };
  }

  async generateDownload(shotId: number | string, generateId: string, o: CallOptions = {}): Promise<LipdubGenerateDownload> {
    const res = await this.#http.call({
      method: 'GET',
      path: `/shots/${pathSegment(shotId)}/generate/${pathSegment(generateId)}/download`,
      endpoint: 'GET /shots/{shot_id}/generate/{generate_id}/download',
      schema: lipdubEnvelope(LipdubGenerateDownload),
      signal: o.signal,
    });
    return res.data;
  }
}
