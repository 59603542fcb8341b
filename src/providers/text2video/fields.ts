/** The field audit of the text2video client (src/providers/fields.ts explains the table; docs/provider-fields.md renders it). */
import type { ProviderAudit } from '../fields';

export const TEXT2VIDEO_FIELDS: ProviderAudit = {
  provider: 'text2video',
  doc: 'text2video.md',
  endpoints: [],
};
