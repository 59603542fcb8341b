/** How the generated variant tests call each audited dublab endpoint (src/pipelines/dublab/fields.ts). */
import { DublabClient } from '../../../src/pipelines/dublab/client';
import type { EndpointCalls } from './support';

const client = (baseUrl: string) => new DublabClient({ baseUrl, apiKey: 'k-variant' });
const source = { fileType: 'video/mp4', name: 'talk.mp4', source_lang: 'en', duration: 12 };

export const calls: EndpointCalls = {
  'GET /me': (baseUrl) => client(baseUrl).me(),
  'GET /dubs': (baseUrl) => client(baseUrl).listDubs(),
  'GET /dubs/{fileId}/outputs': (baseUrl) => client(baseUrl).dubOutputs('f-1'),
  'POST /init-dub': (baseUrl) => client(baseUrl).initDub({ ...source, dest_lang: 'es' }),
  'POST /init-dub-group': (baseUrl) => client(baseUrl).initDubGroup({ ...source, dest_langs: ['tr', 'de'] }),
  'POST /start-dub': (baseUrl) => client(baseUrl).startDub('f-1'),
};
