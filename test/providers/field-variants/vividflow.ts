/** How the generated variant tests call each audited vividflow endpoint (src/providers/vividflow/fields.ts). */
import type { EndpointCalls } from './support';

export const calls: EndpointCalls = {};
