import { ApplicationFailure, CancellationScope, isCancellation, patched, setHandler, sleep, workflowInfo } from '@temporalio/workflow';
import type { AistudioPipelineInput, AistudioPipelineResult } from './input';
import { AISTUDIO_POLLING_DEFAULTS, AISTUDIO_SLOT_WAIT_DEFAULTS, AISTUDIO_JOB_DURATION } from './spec';
import { CANCEL_WAITS_FOR_CREATES, CREATE_CALL, STATUS_CALL, TRANSFER_CALL, createActivities, statusActivities, transferActivities, withSummary } from '../../workflows/activity-proxies';
import { validatedInput } from '../../workflows/shared/input';
import { Deadline, pollUntil, pollingConfig, probe } from '../../workflows/shared/polling';
import { ProgressTracker, progressQuery } from '../../workflows/shared/progress';
import { withProviderSlot } from '../../workflows/shared/slots';
import { continuation } from '../../workflows/shared/continuation';
import { providerReason, undocumentedStatusLine } from '../../workflows/shared/undocumented';
import { AISTUDIO_STATUSES } from './statuses';
import { isDocumented } from '../../providers/documented';

/** Creates tried while AI Studio answers 429 (busy), at most: 120 tries are about 1,300 history events. */
const MAX_CREATE_TRIES = 120;

/**
 * Generate a video with Veo 3.1 through AI Studio. AI Studio runs at most 3 jobs per user and refuses a
 * 4th with 429: that is not a failure, the pipeline waits for a slot on a durable timer (visible in
 * `progress` as `waiting-for-slot`) and tries again. A 402 (tokens) fails at once with the balance.
 */
export async function aistudioPipeline(rawInput: AistudioPipelineInput): Promise<AistudioPipelineResult> {
  const input = await validatedInput('aistudioPipeline', rawInput, () => (require('./input') as typeof import('./input')).AistudioPipelineInput);
  const { workflowId } = workflowInfo();
  const polling = pollingConfig(AISTUDIO_POLLING_DEFAULTS, input.polling);
  const slotWait = { ...AISTUDIO_SLOT_WAIT_DEFAULTS, ...input.slotWait };
  const deadline = new Deadline(polling.deadlineMinutes, 'AI Studio pipeline');
  const progress = new ProgressTracker('aistudioPipeline', 'aistudio', `AI Studio ${input.model}: ${(input.prompt ?? 'from image').slice(0, 60)}`);
  setHandler(progressQuery, () => progress.snapshot);
  const outputSubdir = input.outputSubdir ?? workflowId;
  let jobId: string | undefined;
  let lastStatus: string | undefined;
  let slotWaits = 0;
  const ended = (s: string | undefined) => s === 'SUCCEEDED' || s === 'FAILED' || s === 'CANCELLED';

  // Report the job still running at AI Studio (it has no cancel endpoint); once, before the slot is given back.
  let cancelReport: Promise<void> | undefined;
  const reportCancellation = (): Promise<void> =>
    (cancelReport ??= CancellationScope.nonCancellable(async () => {
      let status = lastStatus;
      if (jobId && !ended(status) && patched(CANCEL_WAITS_FOR_CREATES)) {
        // Its status now, not the last one polled: it may have ended, or not been polled yet.
        status = await withSummary(STATUS_CALL, statusActivities.aistudioGetJob, `Job ${jobId} status after cancel`, { jobId }).then(
          (s) => s.status,
          () => status,
        );
      }
      const running = jobId && !ended(status);
      // AI Studio has no cancel endpoint; DELETE removes only the record, so the job is left to finish.
      const left = running ? [`job ${jobId} (${status ?? 'PENDING'}; AI Studio has no cancel endpoint, its tokens are spent)`] : [];
      progress.leftAtProvider(left);
      progress.stage('cancelled', undefined, left.length ? `Cancelled; still at AI Studio: ${left[0]}` : 'Cancelled; nothing running at AI Studio');
    }));

  try {
    const { outputName, outputSubdir: _subdir, polling: _polling, slotWait: _slotWait, priority, caller, ...params } = input;
    let tokensConsumed: number | undefined;
    // One of the user's job slots, counted across every worker and batch by the limiter workflow; the 429
    // loop below stays as the backstop for jobs started outside Reelay on the same account.
    const final = await withProviderSlot(
      'aistudio',
      (capacity) => progress.stage('waiting-for-slot', 1, `Waiting for one of ${capacity} AI Studio job slots shared by every worker`),
      async () => {
        for (let waitSeconds = slotWait.initialSeconds; ; waitSeconds = Math.min(waitSeconds * 1.5, slotWait.maxSeconds)) {
          deadline.check('waiting for a free AI Studio job slot');
          progress.stage(slotWaits ? 'waiting-for-slot' : 'submitting', 1);
          const created = await withSummary(CREATE_CALL, createActivities.aistudioCreateJob, slotWaits ? `Create job (try ${slotWaits + 1})` : 'Create job', { workflowId, ...params });
          if (created.kind === 'created') {
            jobId = created.jobId;
            tokensConsumed = created.tokensConsumed;
            break;
          }
          slotWaits++;
          // At most MAX_CREATE_TRIES tries whatever the deadline (bounded history): when the backoff's cap
          // would fit more tries into what is left, the tries are spread over it instead.
          const triesLeft = Math.max(MAX_CREATE_TRIES - slotWaits, 1);
          const spreadMs = deadline.remainingMs() / triesLeft;
          const waitMs = spreadMs > slotWait.maxSeconds * 1000 ? spreadMs : waitSeconds * 1000;
          progress.stage('waiting-for-slot', 1, `AI Studio is busy (${created.message}); trying again in ${Math.round(waitMs / 100) / 10}s`);
          // A run continued from this one runs through these tries (their outcomes are carried) without waiting.
          if (!continuation()?.replayingPredecessor) await sleep(Math.min(waitMs, Math.max(deadline.remainingMs(), 1)));
        }
        progress.providerId('jobId', jobId!);
        progress.stage('pending', 5, `Job ${jobId} created${tokensConsumed !== undefined ? ` (${tokensConsumed} tokens)` : ''}`);

        let logsSeen = 0;
        return pollUntil({
          check: () => withSummary(STATUS_CALL, statusActivities.aistudioGetJob, `Job ${jobId} status`, { jobId: jobId! }),
          probe: probe('aistudioGetJob', { jobId: jobId! }, `job ${jobId} status`),
          isDone: (s) => s.status === 'SUCCEEDED' || s.status === 'FAILED' || s.status === 'CANCELLED',
          onValue: (s) => {
            const documented = isDocumented(AISTUDIO_STATUSES, s.status);
            // A status the docs do not list is the provider's new state, not an error: keep the stage, say so once, wait on.
            if (!documented && s.status !== lastStatus) progress.log(undocumentedStatusLine('AI Studio', `job ${jobId}`, s.status));
            lastStatus = s.status;
            for (const line of s.logs.slice(logsSeen)) progress.log(line);
            logsSeen = Math.max(logsSeen, s.logs.length);
            const stage = documented ? s.status.toLowerCase() : progress.snapshot.stage;
            // Without a percentage the bar stays where it was.
            progress.stage(stage, s.progressPercentage !== undefined ? 5 + s.progressPercentage * 0.85 : undefined);
          },
          config: polling,
          expected: AISTUDIO_JOB_DURATION,
          // PENDING reads 0 %; the rate counts from RUNNING on.
          progressOf: (s) => (s.status === 'RUNNING' && s.progressPercentage !== undefined ? s.progressPercentage / 100 : undefined),
          deadline,
          waitingFor: `AI Studio job ${jobId}`,
        });
      },
      reportCancellation,
      { priority, caller },
    );
    if (final.status !== 'SUCCEEDED') {
      throw ApplicationFailure.nonRetryable(
        `AI Studio job ${jobId} ${final.status}: ${providerReason([final.errorMessage, final.statusMessage], 'no reason given (its answer has no errorMessage or statusMessage)')}`,
        'ProviderJobFailed',
      );
    }
    const createdId = jobId!;
    progress.stage('downloading', 90, `Job ${createdId} succeeded; downloading`);
    const file = await withSummary(TRANSFER_CALL, transferActivities.aistudioDownload, 'Download video', { jobId: createdId, outputSubdir, fileName: outputName });
    progress.stage('completed', 100, `Saved ${file.path} (${file.bytes} bytes)`);
    return { jobId: createdId, output: file, tokensConsumed, slotWaits };
  } catch (err) {
    if (isCancellation(err)) {
      await reportCancellation();
    } else if (progress.snapshot.stage !== 'failed') {
      progress.stage('failed', undefined, `Failed: ${(err as Error).message}`);
    }
    throw err;
  }
}
