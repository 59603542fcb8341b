/** How the generated variant tests call each audited aistudio endpoint (src/providers/aistudio/fields.ts). */
import type { EndpointCalls } from './support';

export const calls: EndpointCalls = {};
