/** The field audit of the dublab client (src/providers/fields.ts explains the table; docs/provider-fields.md renders it). */
import type { ProviderAudit } from '../fields';

export const DUBLAB_FIELDS: ProviderAudit = {
  provider: 'dublab',
  doc: 'dublab.md',
  endpoints: [],
};
