/** How the generated variant tests call each audited text2video endpoint (src/providers/text2video/fields.ts). */
import type { EndpointCalls } from './support';

export const calls: EndpointCalls = {};
