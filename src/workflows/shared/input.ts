import { ActivityFailure, ApplicationFailure, isCancellation, patched, proxyActivities } from '@temporalio/workflow';
import type { z } from 'zod';
import type { Activities } from '../../activities';
import type * as Common from '../../contract/common';
import type { PipelineWorkflowType } from '../../pipelines/registry';
import { applyInputPatch, type InputPatch } from '../../contract/input-patch';
import { answerProgressCancelledBeforeInput } from './progress';

function isPatchAnswer(answer: unknown): answer is { inputPatch: InputPatch | null } {
  return typeof answer === 'object' && answer !== null && Object.keys(answer).length === 1 && 'inputPatch' in answer;
}

/**
 * Patch: a pipeline's input is validated (defaults applied) by the activity `validateInput`, with
 * the same zod schema in the worker's own context, which every run shares; before it, each run parsed its
 * input in the workflow and so evaluated its own copy of zod and the schemas (about 1 MiB and 13 ms of CPU
 * per run, docs/performance.md). Runs recorded before it replay through `parseInput`, which loads the
 * schema only then.
 */
export const INPUT_VALIDATED_IN_ACTIVITY = 'input-validated-in-activity';

/**
 * This run's `notify` as the activity parsed it (`undefined` inside: none, or a bad one), once it has
 * answered; until then, or in a run from before the patch, unset. Module state is the run's own: each run
 * evaluates its own copy of the workflow modules (src/workflows/index.ts).
 */
let notifyFromActivity: { notify?: unknown } | undefined;

/** What the validateInput activity said of this run's `notify` (withNotify reads it), or undefined if it has not. */
export function validatedNotify(): { notify?: unknown } | undefined {
  return notifyFromActivity;
}

/**
 * Quick; retried only if the worker failed, never for a bad input (non-retryable). A regular activity
 * (dispatched eagerly to this worker), not a local one: a local activity that completes while its workflow
 * task is still open may have that task completed with its marker, the code after it running in the next
 * task, whereas a replay runs that code in the same task, before the next task's patch markers are known,
 * so a `patched()` there (every pipeline calls one) fails replay as nondeterministic. Seen under load in
 * test/workflows/cancellation.test.ts; an activity's result always resumes the workflow in a new task.
 */
const { validateInput } = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 10 },
});

/**
 * The run's input, parsed by the schema the client used: a bad input fails the run without retrying
 * (a non-retryable InvalidInput naming every field, as the client says it). `schemaOfOldRuns` is called
 * only to replay a run recorded before INPUT_VALIDATED_IN_ACTIVITY; it `require`s the pipeline's input
 * module, so a new run never evaluates zod.
 */
export async function validatedInput<S extends z.ZodType>(workflowType: PipelineWorkflowType, rawInput: unknown, schemaOfOldRuns: () => S): Promise<z.output<S>> {
  if (!patched(INPUT_VALIDATED_IN_ACTIVITY)) return parseInput(schemaOfOldRuns(), rawInput);
  try {
    const answer = (await validateInput({ workflowType, input: rawInput })) as { inputPatch: InputPatch | null } | z.output<S>;
    // What parsing changed, applied here; runs recorded before that answer had the whole parsed input.
    const input = (isPatchAnswer(answer) ? applyInputPatch(rawInput, answer.inputPatch ?? undefined) : answer) as z.output<S>;
    notifyFromActivity = { notify: (input as { notify?: unknown } | undefined)?.notify };
    return input;
  } catch (err) {
    // The same failure as a parse in the workflow: the run's own InvalidInput, not an activity's.
    if (err instanceof ActivityFailure && err.cause instanceof ApplicationFailure && err.cause.type === 'InvalidInput') {
      const said = err.cause.details?.[0] as { notify?: unknown } | undefined;
      notifyFromActivity = { notify: said?.notify ?? undefined };
      throw ApplicationFailure.nonRetryable(err.cause.message, 'InvalidInput');
    }
    if (isCancellation(err)) answerProgressCancelledBeforeInput();
    throw err;
  }
}

/** Parse the input in the workflow (runs recorded before INPUT_VALIDATED_IN_ACTIVITY). */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    const { describeZodError } = require('../../contract/common') as typeof Common;
    throw ApplicationFailure.nonRetryable(describeZodError(parsed.error), 'InvalidInput');
  }
  return parsed.data;
}
