/** Every provider's field audit, in the order docs/provider-fields.md lists them. */
import { AISTUDIO_FIELDS } from '../pipelines/aistudio/fields';
import { DUBLAB_FIELDS } from '../pipelines/dublab/fields';
import type { ProviderAudit } from './fields';
import { LIPDUB_FIELDS } from '../pipelines/lipdub/fields';
import { TEXT2VIDEO_FIELDS } from '../pipelines/text2video/fields';
import { VIVIDFLOW_FIELDS } from '../pipelines/vividflow/fields';

export const PROVIDER_AUDITS: readonly ProviderAudit[] = [LIPDUB_FIELDS, DUBLAB_FIELDS, TEXT2VIDEO_FIELDS, VIVIDFLOW_FIELDS, AISTUDIO_FIELDS];
