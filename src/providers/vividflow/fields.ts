/** The field audit of the vividflow client (src/providers/fields.ts explains the table; docs/provider-fields.md renders it). */
import type { ProviderAudit } from '../fields';

export const VIVIDFLOW_FIELDS: ProviderAudit = {
  provider: 'vividflow',
  doc: 'vividflow.md',
  endpoints: [],
};
