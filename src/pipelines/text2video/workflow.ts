import { ApplicationFailure, CancellationScope, isCancellation, patched, setHandler, workflowInfo } from '@temporalio/workflow';
import type { Text2videoPipelineInput, Text2videoPipelineResult } from './input';
import { TEXT2VIDEO_POLLING_DEFAULTS } from './spec';
import { CANCEL_WAITS_FOR_CREATES, CREATE_CALL, STATUS_CALL, TRANSFER_CALL, createActivities, statusActivities, transferActivities, withSummary } from '../../workflows/activity-proxies';
import { validatedInput } from '../../workflows/shared/input';
import { Deadline, pollUntil, pollingConfig, probe } from '../../workflows/shared/polling';
import { ProgressTracker, progressQuery } from '../../workflows/shared/progress';
import { providerReason, undocumentedStatusLine } from '../../workflows/shared/undocumented';
import { isDocumented } from '../../providers/documented';
import { TEXT2VIDEO_STATUSES } from './statuses';

/**
 * Turn a story into a video on the self-hosted text-to-video server: submit, mirror its progress and logs,
 * download. The server keeps jobs in memory, so after a restart it answers 404 for a job it accepted:
 * the pipeline submits again (it costs nothing) and says so, up to `maxResubmits` times.
 */
export async function text2videoPipeline(rawInput: Text2videoPipelineInput): Promise<Text2videoPipelineResult> {
  const input = await validatedInput('text2videoPipeline', rawInput, () => (require('./input') as typeof import('./input')).Text2videoPipelineInput);
  const { workflowId } = workflowInfo();
  const polling = pollingConfig(TEXT2VIDEO_POLLING_DEFAULTS, input.polling);
  const deadline = new Deadline(polling.deadlineMinutes, 'text2video pipeline');
  const progress = new ProgressTracker('text2videoPipeline', 'text2video', `text2video: ${input.text.slice(0, 60)}`);
  setHandler(progressQuery, () => progress.snapshot);
  const outputSubdir = input.outputSubdir ?? workflowId;
  let jobId: string | undefined;
  let resubmits = 0;

  try {
    for (;;) {
      progress.stage('submitting', 1);
      ({ jobId } = await withSummary(CREATE_CALL, createActivities.text2videoSubmit, resubmits ? `Resubmit story (${resubmits})` : 'Submit story', { workflowId, text: input.text, retryUnknownOutcome: input.retryUnknownOutcome }));
      progress.providerId('jobId', jobId);
      progress.stage('generating', 5, `Job ${jobId} accepted`);
      let logsSeen = 0;
      let undocumented: string | undefined;
      const final = await pollUntil({
        check: () => withSummary(STATUS_CALL, statusActivities.text2videoGetStatus, `Job ${jobId} status`, { jobId: jobId! }),
        probe: probe('text2videoGetStatus', { jobId: jobId! }, `job ${jobId} status`),
        isDone: (s) => !s.found || s.status === 'completed' || s.status === 'failed',
        onValue: (s) => {
          if (!s.found) return;
          for (const line of s.logs.slice(logsSeen)) progress.log(line);
          logsSeen = Math.max(logsSeen, s.logs.length);
          const documented = isDocumented(TEXT2VIDEO_STATUSES, s.status);
          // A status the docs do not list is the server's new state, not an error: keep the stage, say so once, wait on.
          if (!documented && s.status !== undocumented) progress.log(undocumentedStatusLine('text2video', `job ${jobId}`, s.status));
          undocumented = documented ? undefined : s.status;
          const stage = !documented ? progress.snapshot.stage : s.status === 'queued' ? 'queued' : 'generating';
          progress.stage(stage, s.progress !== undefined ? 5 + s.progress * 0.85 : undefined);
        },
        config: polling,
        progressOf: (s) => (s.found && s.status === 'processing' && s.progress !== undefined ? s.progress / 100 : undefined),
        deadline,
        waitingFor: `text2video job ${jobId}`,
      });
      if (final.found && final.status === 'failed') {
        const lastLog = final.logs.at(-1);
        const reason = providerReason(
          [final.error, final.message],
          lastLog ? `no reason given; its last log line reads ${JSON.stringify(lastLog)}` : 'no reason given (its status answer has no message or logs)',
        );
        throw ApplicationFailure.nonRetryable(`text2video job ${jobId} failed: ${reason}`, 'ProviderJobFailed');
      }
      if (final.found) {
        progress.stage('downloading', 90, `Job ${jobId} completed; downloading`);
        const dl = await withSummary(TRANSFER_CALL, transferActivities.text2videoDownload, 'Download video', { jobId, outputSubdir, fileName: input.outputName });
        if (dl.found) {
          progress.stage('completed', 100, `Saved ${dl.file.path} (${dl.file.bytes} bytes)`);
          return { jobId, resubmits, output: dl.file };
        }
      }
      // The server forgot the job: it restarted. Submitting again is free.
      if (resubmits >= input.maxResubmits) {
        throw ApplicationFailure.nonRetryable(
          `text2video lost job ${jobId} (404 after a server restart) and ${resubmits} resubmission(s) were allowed`,
          'ProviderJobLost',
        );
      }
      resubmits++;
      progress.log(`Server no longer knows job ${jobId} (it restarted); resubmitting (${resubmits}/${input.maxResubmits})`);
    }
  } catch (err) {
    if (isCancellation(err)) {
      await CancellationScope.nonCancellable(async () => {
        let running = jobId !== undefined;
        let state = '';
        if (jobId && patched(CANCEL_WAITS_FOR_CREATES)) {
          // Its status now: a job that completed (cancel during the download) or that the server forgot is not running.
          const id = jobId;
          const now = await withSummary(STATUS_CALL, statusActivities.text2videoGetStatus, `Job ${id} status after cancel`, { jobId: id }).catch(() => undefined);
          if (now) running = now.found && now.status !== 'completed' && now.status !== 'failed';
          if (now?.found) state = `${now.status}; `;
        }
        const left = running ? [`job ${jobId} (${state}the server has no cancel endpoint; it runs to the end)`] : [];
        progress.leftAtProvider(left);
        progress.stage('cancelled', undefined, left.length ? `Cancelled; still at the server: ${left[0]}` : jobId ? `Cancelled; job ${jobId} is no longer running` : 'Cancelled before submitting');
      });
    } else if (progress.snapshot.stage !== 'failed') {
      progress.stage('failed', undefined, `Failed: ${(err as Error).message}`);
    }
    throw err;
  }
}
