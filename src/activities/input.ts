import { ApplicationFailure } from '@temporalio/activity';
import type { z } from 'zod';
import { describeZodError } from '../contract/common';
import { NotifyInput } from '../contract/notify';
import { AistudioPipelineInput } from '../pipelines/aistudio/input';
import { BatchPipelineInput } from '../pipelines/batch/input';
import { DublabPipelineInput } from '../pipelines/dublab/input';
import { LipdubPipelineInput } from '../pipelines/lipdub/input';
import { LocalizePipelineInput } from '../pipelines/localize/input';
import { Text2videoPipelineInput } from '../pipelines/text2video/input';
import { VividflowPipelineInput } from '../pipelines/vividflow/input';
import type { PipelineWorkflowType } from '../pipelines/registry';
import { inputPatch } from '../contract/input-patch';

/** Each pipeline's input schema, by workflow type: the same ones the client and the CLI validate with. */
const INPUT_SCHEMAS = {
  lipdubPipeline: LipdubPipelineInput,
  dublabPipeline: DublabPipelineInput,
  text2videoPipeline: Text2videoPipelineInput,
  vividflowPipeline: VividflowPipelineInput,
  aistudioPipeline: AistudioPipelineInput,
  localizePipeline: LocalizePipelineInput,
  batchPipeline: BatchPipelineInput,
} as const satisfies Record<PipelineWorkflowType, z.ZodType>;

export interface ValidateInputRequest {
  workflowType: PipelineWorkflowType;
  input: unknown;
}

/**
 * Input validation for the workflows, run as an activity (src/workflows/shared/input.ts): zod and
 * the schemas live once in the worker's Node context instead of once per run in the workflow sandbox.
 */
export function createInputActivities() {
  return {
    /**
     * What parsing changed in the input (defaults applied, strings trimmed: `{ inputPatch }`, applied by
     * the workflow to its own input, so the input's values are not kept twice in history), or a
     * non-retryable InvalidInput naming every bad field. Its
     * details say whether `notify` alone is good (`{ notify }`, parsed, or `null`): the run still sends its
     * `failed` webhook then (src/workflows/shared/notify.ts), as when the workflow parsed its own input.
     */
    async validateInput({ workflowType, input }: ValidateInputRequest): Promise<unknown> {
      const schema: z.ZodType | undefined = Object.prototype.hasOwnProperty.call(INPUT_SCHEMAS, workflowType) ? INPUT_SCHEMAS[workflowType] : undefined;
      if (!schema) throw ApplicationFailure.nonRetryable(`no input schema for workflow type ${JSON.stringify(workflowType)}`, 'UnknownWorkflowType');
      const parsed = schema.safeParse(input);
      if (!parsed.success) {
        const notify = NotifyInput.safeParse((input as { notify?: unknown } | null | undefined)?.notify);
        throw ApplicationFailure.create({ message: describeZodError(parsed.error), type: 'InvalidInput', nonRetryable: true, details: [{ notify: notify.success ? notify.data : null }] });
      }
      return { inputPatch: inputPatch(input, parsed.data) ?? null };
    },
  };
}
