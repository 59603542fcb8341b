/** The field audit of the aistudio client (src/providers/fields.ts explains the table; docs/provider-fields.md renders it). */
import type { ProviderAudit } from '../fields';

export const AISTUDIO_FIELDS: ProviderAudit = {
  provider: 'aistudio',
  doc: 'aistudio.md',
  endpoints: [],
};
