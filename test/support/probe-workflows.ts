/**
 * The worker's workflows plus one that evaluates zod on purpose: the positive control of
 * test/workflows/light-runs.test.ts (the probe must see zod where a run does load it).
 */
import { condition } from '@temporalio/workflow';
import type * as Text2videoInput from '../../src/pipelines/text2video/input';

export * from '../../src/workflows';

export async function zodEvaluatingWorkflow(): Promise<void> {
  (require('../../src/pipelines/text2video/input') as typeof Text2videoInput).Text2videoPipelineInput.parse({ text: 'a story' });
  await condition(() => false);
}
