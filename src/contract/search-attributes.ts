import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/** Which provider a pipeline drives (`lipdub`, `dublab`, …). */
export const REELAY_PROVIDER = defineSearchAttributeKey('ReelayProvider', SearchAttributeType.KEYWORD);
/** The provider's own ids for this pipeline's jobs (shot, generate, dub, project ids), searchable. */
export const REELAY_JOB_IDS = defineSearchAttributeKey('ReelayJobIds', SearchAttributeType.KEYWORD_LIST);
/** The pipeline's current stage, e.g. `waiting-for-shot`. */
export const REELAY_STAGE = defineSearchAttributeKey('ReelayStage', SearchAttributeType.KEYWORD);

export const REELAY_SEARCH_ATTRIBUTES = [REELAY_PROVIDER, REELAY_JOB_IDS, REELAY_STAGE] as const;
