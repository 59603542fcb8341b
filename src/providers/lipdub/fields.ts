/** The field audit of the lipdub client (src/providers/fields.ts explains the table; docs/provider-fields.md renders it). */
import type { ProviderAudit } from '../fields';

export const LIPDUB_FIELDS: ProviderAudit = {
  provider: 'lipdub',
  doc: 'lipdub.md',
  endpoints: [],
};
