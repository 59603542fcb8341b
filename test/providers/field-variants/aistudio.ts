/** How the generated variant tests call each audited aistudio endpoint (src/pipelines/aistudio/fields.ts). */
import { AistudioClient } from '../../../src/pipelines/aistudio/client';
import type { EndpointCalls } from './support';

const client = (baseUrl: string) => new AistudioClient({ baseUrl, apiKey: 't-0123456789' });

export const calls: EndpointCalls = {
  'POST /video-jobs': (baseUrl) =>
    client(baseUrl).createJob({ prompt: 'A sunset over mountains', model: 'veo-3.1-fast-generate-preview', resolution: '1080p', aspectRatio: '16:9', mockMode: true }),
  'GET /video-jobs/{id}': (baseUrl) => client(baseUrl).getJob('550e8400-e29b-41d4-a716-446655440000'),
  'GET /video-jobs': (baseUrl) => client(baseUrl).listJobs({ limit: 50 }),
};
