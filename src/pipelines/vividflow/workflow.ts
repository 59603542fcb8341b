import { ApplicationFailure, CancellationScope, isCancellation, setHandler, workflowInfo, type ActivityOptions } from '@temporalio/workflow';
import type { VividflowPipelineInput, VividflowPipelineResult } from './input';
import { VIVIDFLOW_POLLING_DEFAULTS, VIVIDFLOW_JOB_DURATION } from './spec';
import { CREATE_CALL, STATUS_CALL, TRANSFER_CALL, createActivities, statusActivities, transferActivities, withSummary } from '../../workflows/activity-proxies';
import { validatedInput } from '../../workflows/shared/input';
import type { ExpectedDuration } from '../../contract/poll-schedule';
import { Deadline, pollUntil, pollingConfig, probe } from '../../workflows/shared/polling';
import { ProgressTracker, progressQuery } from '../../workflows/shared/progress';
import { withProviderSlot } from '../../workflows/shared/slots';
import { providerTaskQueue } from '../../contract/task-queues';
import { providerReason, undocumentedStatusLine } from '../../workflows/shared/undocumented';
import { isDocumented } from '../../providers/documented';
import { VIVIDFLOW_STATUSES } from './statuses';

const TERMINAL = new Set(['completed', 'failed', 'cancelled']);

/** Every Vivid Flow call runs on the provider's own task queue, where the server paces requests. */
function vivid(options: ActivityOptions): ActivityOptions {
  return { ...options, taskQueue: providerTaskQueue(workflowInfo().taskQueue, 'vividflow') };
}

/**
 * Animate an image with Vivid Flow (Wan 2.1 or Veo 3.1): submit, wait through the queue and processing,
 * download the result. Cancelling while the job is still queued cancels it at Vivid Flow (in a
 * non-cancellable scope, so the call is made even though the workflow is being cancelled); a submit in
 * flight is waited for first, so a job created during the cancel is cancelled too.
 */
export async function vividflowPipeline(rawInput: VividflowPipelineInput): Promise<VividflowPipelineResult> {
  const input = await validatedInput('vividflowPipeline', rawInput, () => (require('./input') as typeof import('./input')).VividflowPipelineInput);
  const { workflowId } = workflowInfo();
  const polling = pollingConfig(VIVIDFLOW_POLLING_DEFAULTS, input.polling);
  const deadline = new Deadline(polling.deadlineMinutes, 'Vivid Flow pipeline');
  const progress = new ProgressTracker('vividflowPipeline', 'vividflow', `Vivid Flow ${input.model}: ${input.prompt.slice(0, 60)}`);
  setHandler(progressQuery, () => progress.snapshot);
  const outputSubdir = input.outputSubdir ?? workflowId;
  let jobId: string | undefined;
  let lastStatus: string | undefined;

  // Cancel the job at Vivid Flow while it is queued, else report it; once, before the slot is given back.
  let cancelReport: Promise<void> | undefined;
  const reportCancellation = (): Promise<void> =>
    (cancelReport ??= CancellationScope.nonCancellable(async () => {
      const left: string[] = [];
      if (jobId && !TERMINAL.has(lastStatus ?? '')) {
        const r = await withSummary(vivid(STATUS_CALL), statusActivities.vividflowCancel, `Cancel job ${jobId}`, { jobId });
        if (r.cancelled) progress.log(`Cancelled job ${jobId} at Vivid Flow`);
        else if (r.status !== undefined && TERMINAL.has(r.status)) progress.log(`Job ${jobId} had already ended (${r.status})`);
        else left.push(`job ${jobId} could not be cancelled: ${r.message}`);
      }
      progress.leftAtProvider(left);
      progress.stage('cancelled', undefined, left.length ? `Cancelled; ${left[0]}` : 'Cancelled; nothing left running at Vivid Flow');
    }));

  try {
    const { outputName, outputSubdir: _subdir, polling: _polling, priority, caller, ...params } = input;
    // A configurable cap of jobs in flight at Vivid Flow, shared by every worker (none by default).
    const final = await withProviderSlot(
      'vividflow',
      (capacity) => progress.stage('waiting-for-slot', 1, `Waiting for one of ${capacity} Vivid Flow job slots shared by every worker`),
      async () => {
        progress.stage('submitting', 1);
        const created = await withSummary(vivid(CREATE_CALL), createActivities.vividflowGenerate, `Generate with ${input.model}`, { workflowId, ...params });
        jobId = created.jobId;
        const expected: ExpectedDuration = created.estimatedWait
          ? { minMs: created.estimatedWait.minSeconds * 1000, maxMs: created.estimatedWait.maxSeconds * 1000, source: 'Vivid Flow estimated_wait_time' }
          : VIVIDFLOW_JOB_DURATION;
        progress.providerId('jobId', jobId);
        progress.stage('queued', 5, `Job ${jobId} queued`);
        return pollUntil({
          check: () => withSummary(vivid(STATUS_CALL), statusActivities.vividflowGetStatus, `Job ${jobId} status`, { jobId: jobId! }),
          probe: probe('vividflowGetStatus', { jobId: jobId! }, `job ${jobId} status`, vivid({})),
          isDone: (s) => TERMINAL.has(s.status),
          onValue: (s) => {
            if (s.status !== lastStatus) {
              lastStatus = s.status;
              if (!isDocumented(VIVIDFLOW_STATUSES, s.status)) {
                // The provider's new state, not an error: the stage stays, the deadline still applies.
                progress.log(undocumentedStatusLine('Vivid Flow', `job ${jobId}`, s.status));
                return;
              }
              const stage = s.status === 'queued' ? 'queued' : s.status === 'processing' ? 'processing' : s.status;
              progress.stage(stage, s.status === 'processing' ? 30 : undefined, `Job ${jobId}: ${s.status}${s.message ? ` — ${s.message}` : ''}`);
            }
          },
          config: polling,
          expected,
          deadline,
          waitingFor: `Vivid Flow job ${jobId}`,
        });
      },
      reportCancellation,
      { priority, caller },
    );
    const createdId = jobId!;
    if (final.status !== 'completed') {
      throw ApplicationFailure.nonRetryable(
        `Vivid Flow job ${createdId} ${final.status}: ${providerReason([final.errorMessage, final.message], 'no reason given (its status answer has no error_message or message)')}`,
        'ProviderJobFailed',
      );
    }
    progress.stage('downloading', 90, `Job ${createdId} completed; downloading`);
    const file = await withSummary(vivid(TRANSFER_CALL), transferActivities.vividflowDownload, 'Download video', { jobId: createdId, outputSubdir, fileName: outputName });
    progress.stage('completed', 100, `Saved ${file.path} (${file.bytes} bytes)`);
    return { jobId: createdId, output: file, metrics: final.metrics };
  } catch (err) {
    if (isCancellation(err)) {
      await reportCancellation();
    } else if (progress.snapshot.stage !== 'failed') {
      progress.stage('failed', undefined, `Failed: ${(err as Error).message}`);
    }
    throw err;
  }
}
