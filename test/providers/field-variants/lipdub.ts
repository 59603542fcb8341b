/** How the generated variant tests call each audited lipdub endpoint (src/providers/lipdub/fields.ts). */
import type { EndpointCalls } from './support';

export const calls: EndpointCalls = {};
