/** How the generated variant tests call each audited text2video endpoint (src/pipelines/text2video/fields.ts). */
import { Text2videoClient } from '../../../src/pipelines/text2video/client';
import type { EndpointCalls } from './support';

const client = (baseUrl: string) => new Text2videoClient({ baseUrl });

export const calls: EndpointCalls = {
  'POST /generate': (baseUrl) => client(baseUrl).generate({ text: 'a story' }),
  'GET /status/{job_id}': (baseUrl) => client(baseUrl).status('550e8400-e29b-41d4-a716-446655440000'),
  'GET /jobs': (baseUrl) => client(baseUrl).listJobs(),
};
