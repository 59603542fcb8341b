/** How the generated variant tests call each audited dublab endpoint (src/providers/dublab/fields.ts). */
import type { EndpointCalls } from './support';

export const calls: EndpointCalls = {};
