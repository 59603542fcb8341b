/** How the generated variant tests call each audited vividflow endpoint (src/pipelines/vividflow/fields.ts). */
import { VividflowClient } from '../../../src/pipelines/vividflow/client';
import type { EndpointCalls } from './support';

const client = (baseUrl: string) => new VividflowClient({ baseUrl, apiKey: 'k-0123456789' });

export const calls: EndpointCalls = {
  'POST /generate': (baseUrl) => client(baseUrl).generate({ prompt: 'A sunset over mountains', imageUrl: 'gs://your-bucket/images/sunset.jpg' }),
  'GET /status/{job_id}': (baseUrl) => client(baseUrl).status('c2c625a3-0fc9-44ba-90e4-25d37428607a'),
  'POST /cancel/{job_id}': (baseUrl) => client(baseUrl).cancel('c2c625a3-0fc9-44ba-90e4-25d37428607a'),
  'GET /history': (baseUrl) => client(baseUrl).history({ limit: 20 }),
  'GET /usage': (baseUrl) => client(baseUrl).usage(),
};
