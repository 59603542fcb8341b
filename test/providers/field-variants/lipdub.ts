/** How the generated variant tests call each audited lipdub endpoint (src/pipelines/lipdub/fields.ts). */
import { LipdubClient } from '../../../src/pipelines/lipdub/client';
import type { EndpointCalls } from './support';

const client = (baseUrl: string) => new LipdubClient({ baseUrl, apiKey: 'k' });

export const calls: EndpointCalls = {
  'POST /video': (baseUrl) =>
    client(baseUrl).initVideo({ file_name: 'v.mp4', content_type: 'video/mp4', project_name: 'p', scene_name: 's', actor_name: 'a' }),
  'POST /video/success/{video_id}': (baseUrl) => client(baseUrl).videoSuccess('v1'),
  'GET /video/status/{video_id}': (baseUrl) => client(baseUrl).videoStatus('v1'),
  'POST /audio': (baseUrl) => client(baseUrl).initAudio({ file_name: 'a.mp3', content_type: 'audio/mpeg', size_bytes: 10 }),
  'GET /audio/status/{audio_id}': (baseUrl) => client(baseUrl).audioStatus('a1'),
  'GET /audio': (baseUrl) => client(baseUrl).listAudio(),
  'GET /shots': (baseUrl) => client(baseUrl).listShots(),
  'GET /shots/{shot_id}/status': (baseUrl) => client(baseUrl).shotStatus(746176),
  'POST /shots/{shot_id}/generate': (baseUrl) =>
    client(baseUrl).generate(746176, { audio_id: 'a1', output_filename: 'o.mp4', language: 'es-MX', maintain_expression: true }),
  'GET /shots/{shot_id}/generate/{generate_id}': (baseUrl) => client(baseUrl).generateStatus(746176, '456'),
  'GET /shots/{shot_id}/generate/{generate_id}/download': (baseUrl) => client(baseUrl).generateDownload(746176, '456'),
};
