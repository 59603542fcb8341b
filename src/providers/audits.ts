/** Every provider's field audit, in the order docs/provider-fields.md lists them. */
import { AISTUDIO_FIELDS } from './aistudio/fields';
import { DUBLAB_FIELDS } from './dublab/fields';
import type { ProviderAudit } from './fields';
import { LIPDUB_FIELDS } from './lipdub/fields';
import { TEXT2VIDEO_FIELDS } from './text2video/fields';
import { VIVIDFLOW_FIELDS } from './vividflow/fields';

export const PROVIDER_AUDITS: readonly ProviderAudit[] = [LIPDUB_FIELDS, DUBLAB_FIELDS, TEXT2VIDEO_FIELDS, VIVIDFLOW_FIELDS, AISTUDIO_FIELDS];
