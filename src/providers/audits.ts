/** Every provider's field audit, in the order docs/provider-fields.md lists them. */
import { AISTUDIO_FIELDS } from '../pipelines/aistudio/fields';
import { DUBLAB_FIELDS } from '../pipelines/dublab/fields';
import type { ProviderId } from './errors';
import type { ProviderAudit } from './fields';
import { LIPDUB_FIELDS } from '../pipelines/lipdub/fields';
import { TEXT2VIDEO_FIELDS } from '../pipelines/text2video/fields';
import { VIVIDFLOW_FIELDS } from '../pipelines/vividflow/fields';

/** Keyed by provider, so a provider without an audit does not compile. */
const AUDITS: Record<ProviderId, ProviderAudit> = {
  lipdub: LIPDUB_FIELDS,
  dublab: DUBLAB_FIELDS,
  text2video: TEXT2VIDEO_FIELDS,
  vividflow: VIVIDFLOW_FIELDS,
  aistudio: AISTUDIO_FIELDS,
};

export const PROVIDER_AUDITS: readonly ProviderAudit[] = Object.values(AUDITS);
