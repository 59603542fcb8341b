import { ApplicationFailure, Context } from '@temporalio/activity';
import { AistudioClient } from '../providers/aistudio/client';
import type { AistudioListedJob } from '../providers/aistudio/schemas';
import { BadRequestError, NotFoundError, RateLimitError } from '../providers/errors';
import { redactUrl } from '../providers/http';
import { Text2videoClient } from '../providers/text2video/client';
import type { Text2videoJobStatus } from '../providers/text2video/schemas';
import { VividflowClient } from '../providers/vividflow/client';
import { parseEstimatedWait } from '../providers/vividflow/schemas';
import type { DeliveredFile } from '../workflows/inputs/common';
import type { AistudioPipelineParsed } from '../workflows/inputs/aistudio';
import type { VividflowPipelineParsed } from '../workflows/inputs/vividflow';
import { createdAtMs, reconcileFromList, text2videoWindow } from './reconcile';
import { type ActivityDeps, activityTransferHooks, createAtMostOnce, pipelineOutputTarget } from './shared';
import { downloadToFile } from './transfer';

type VividParams = Omit<VividflowPipelineParsed, 'outputName' | 'outputSubdir' | 'polling'>;
type AistudioParams = Omit<AistudioPipelineParsed, 'outputName' | 'outputSubdir' | 'polling' | 'slotWait'>;

async function deliver(deps: ActivityDeps, provider: 'text2video' | 'vividflow' | 'aistudio', url: string, outputSubdir: string, fileName: string): Promise<DeliveredFile> {
  const file = await downloadToFile(
    { url, dir: pipelineOutputTarget(deps, outputSubdir), name: fileName, provider },
    activityTransferHooks(deps, 'downloading'),
  );
  return { path: file.path, bytes: file.bytes, sha256: file.sha256, contentType: file.contentType, providerUrl: redactUrl(url), uri: file.uri, etag: file.etag };
}

/** Activities of the three generation providers: text2video, Vivid Flow and AI Studio. */
export function createGenerationActivities(deps: ActivityDeps) {
  let t2v: Text2videoClient | undefined;
  let vivid: VividflowClient | undefined;
  let studio: AistudioClient | undefined;
  const text2video = () => (t2v ??= Text2videoClient.fromSettings(deps.config.providers.text2video, { dispatcher: deps.dispatcher }));
  const vividflow = () => (vivid ??= VividflowClient.fromSettings(deps.config.providers.vividflow, { dispatcher: deps.dispatcher }));
  const aistudio = () => (studio ??= AistudioClient.fromSettings(deps.config.providers.aistudio, { dispatcher: deps.dispatcher }));
  const signal = () => Context.current().cancellationSignal;
  // Billable creates and their reconciliation run to their end even when the run is cancelled: no signal (see createAtMostOnce).
  const toEnd = {};

  return {
    /**
     * Submit a text. The server is self-hosted, so a second job costs compute, not money: its job list
     * has no text to match, so a retry after a lost answer creates again unless the list shows that no
     * job was created since (`retryUnknownOutcome: false` turns that case into OutcomeUnknown instead).
     */
    async text2videoSubmit(args: { workflowId?: string; text: string; retryUnknownOutcome?: boolean }): Promise<{ jobId: string }> {
      return createAtMostOnce({
        what: `text2video job${args.workflowId ? ` for workflow ${args.workflowId}` : ''}`,
        check: 'Check GET /jobs on the text2video server for a job created around then.',
        retryUnknownOutcome: args.retryUnknownOutcome ?? true,
        reconcile: async (sinceMs) => {
          const jobs = await text2video().listJobs(toEnd);
          return text2videoWindow(
            jobs.map((j) => ({ id: j.jobId, createdAt: j.createdAt })),
            sinceMs,
          );
        },
        create: async () => ({ jobId: (await text2video().generate({ text: args.text }, toEnd)).jobId }),
      });
    },

    /**
     * `found: false` when the server no longer knows the job (it restarted): the workflow resubmits. A
     * status the docs do not list comes back as it came (the workflow keeps waiting); `progress` is
     * absent when the answer has none.
     */
    async text2videoGetStatus(args: { jobId: string }): Promise<
      | { found: false }
      | { found: true; status: Text2videoJobStatus; progress?: number; message: string; logs: string[]; error?: string }
    > {
      try {
        const s = await text2video().status(args.jobId, { signal: signal() });
        return { found: true, status: s.status, progress: s.progress, message: s.message, logs: s.logs, error: s.error };
      } catch (err) {
        if (err instanceof NotFoundError) return { found: false };
        throw err;
      }
    },

    async text2videoDownload(args: { jobId: string; outputSubdir: string; fileName: string }): Promise<{ found: false } | { found: true; file: DeliveredFile }> {
      const url = text2video().downloadUrl(args.jobId);
      try {
        return { found: true, file: await deliver(deps, 'text2video', url, args.outputSubdir, args.fileName) };
      } catch (err) {
        if (err instanceof NotFoundError) return { found: false };
        throw err;
      }
    },

    /**
     * Billable (credits). Vivid Flow has no field for a marker, so a retry after a lost answer looks in
     * GET /history for the one job with this prompt created since the call was sent.
     */
    async vividflowGenerate(
      args: { workflowId: string; retryUnknownOutcome?: boolean } & VividParams,
    ): Promise<{ jobId: string; estimatedWait?: { minSeconds: number; maxSeconds: number } }> {
      const { workflowId, retryUnknownOutcome, ...params } = args;
      return createAtMostOnce({
        what: `Vivid Flow job for workflow ${workflowId}`,
        check: 'Check GET /history for a job with this prompt created around the time the workflow started.',
        retryUnknownOutcome,
        reconcile: async (sinceMs) => {
          const limit = 100;
          const history = await vividflow().history({ limit }, toEnd);
          const r = reconcileFromList({
            jobs: history.jobs.map((j) => ({ ...j, id: j.jobId })),
            matches: (j) => j.prompt === params.prompt,
            sinceMs,
            pageFull: history.jobs.length >= limit,
            describe: 'Vivid Flow job',
          });
          return r.kind === 'found' ? { ...r, value: { jobId: r.value.jobId } } : r;
        },
        create: async () => {
          const res = await vividflow().generate(params, toEnd);
          // The job's own estimate places the first status call (src/workflows/shared/poll-schedule.ts).
          const estimatedWait = parseEstimatedWait(res.estimatedWaitTime);
          return { jobId: res.jobId, ...(estimatedWait ? { estimatedWait } : {}) };
        },
      });
    },

    async vividflowGetStatus(args: { jobId: string }) {
      const s = await vividflow().status(args.jobId, { signal: signal() });
      return { status: s.status, message: s.message, errorMessage: s.errorMessage, metrics: s.metrics };
    },

    /**
     * Cancel at Vivid Flow. It cancels only queued jobs; any other state is a 400 whose message we report,
     * with the job's status now (a job that ended meanwhile is not left running).
     */
    async vividflowCancel(args: { jobId: string }): Promise<{ cancelled: boolean; message: string; status?: string }> {
      try {
        const r = await vividflow().cancel(args.jobId, { signal: signal() });
        return { cancelled: true, message: r.message };
      } catch (err) {
        if (err instanceof BadRequestError) {
          // Refused: the job is past the queue, or an earlier attempt whose answer was lost cancelled it.
          const now = await vividflow().status(args.jobId, { signal: signal() });
          return { cancelled: now.status === 'cancelled', message: err.providerMessage, status: now.status };
        }
        throw err;
      }
    },

    /** The result URL is read fresh from the status, inside the activity. */
    async vividflowDownload(args: { jobId: string; outputSubdir: string; fileName: string }): Promise<DeliveredFile> {
      const s = await vividflow().status(args.jobId, { signal: signal() });
      if (!s.resultUrl) {
        throw ApplicationFailure.create({
          type: 'ProviderResponseInvalid',
          nonRetryable: true,
          message: `VividFlow GET /status/{job_id}: job ${args.jobId} is ${s.status} and has no result_url to download`,
        });
      }
      return deliver(deps, 'vividflow', s.resultUrl, args.outputSubdir, args.fileName);
    },

    /**
     * Create an AI Studio job; 50 tokens are taken at creation. The 3-concurrent-jobs 429 is returned as
     * `busy`, not thrown: the workflow waits for a slot on a durable timer and tries again. A retry after
     * a lost answer looks in GET /video-jobs for the one job with these parameters created since.
     */
    async aistudioCreateJob(
      args: { workflowId: string; retryUnknownOutcome?: boolean } & AistudioParams,
    ): Promise<{ kind: 'created'; jobId: string; tokensConsumed?: number } | { kind: 'busy'; message: string }> {
      const { workflowId, retryUnknownOutcome, ...params } = args;
      return createAtMostOnce({
        what: `AI Studio job for workflow ${workflowId}`,
        check: 'Check GET /video-jobs for a job with this prompt created around the time the workflow started.',
        retryUnknownOutcome,
        reconcile: async (sinceMs) => {
          // Newest first: read pages until one reaches back before the call was sent (at most 10).
          const limit = 50;
          const jobs: AistudioListedJob[] = [];
          let reachedBack = false;
          for (let page = 0; page < 10 && !reachedBack; page++) {
            const list = await aistudio().listJobs({ limit, offset: page * limit }, toEnd);
            jobs.push(...list.jobs);
            const oldest = createdAtMs(list.jobs.at(-1)?.createdAt ?? undefined);
            reachedBack = list.jobs.length < limit || jobs.length >= list.total || (oldest !== undefined && oldest < sinceMs);
          }
          const r = reconcileFromList({
            jobs: jobs.map((j) => ({ ...j, createdAt: j.createdAt ?? undefined })),
            matches: (j) =>
              (j.prompt ?? undefined) === params.prompt &&
              (j.model === undefined || j.model === params.model) &&
              (j.resolution === undefined || j.resolution === params.resolution) &&
              (j.aspectRatio === undefined || j.aspectRatio === params.aspectRatio) &&
              (j.durationSeconds === undefined || params.durationSeconds === undefined || j.durationSeconds === params.durationSeconds),
            sinceMs,
            pageFull: !reachedBack,
            describe: 'AI Studio job',
          });
          return r.kind === 'found' ? { ...r, value: { kind: 'created' as const, jobId: r.value.id, tokensConsumed: r.value.tokensConsumed } } : r;
        },
        create: async () => {
          try {
            const job = await aistudio().createJob(params, toEnd);
            return { kind: 'created' as const, jobId: job.id, tokensConsumed: job.tokensConsumed };
          } catch (err) {
            if (err instanceof RateLimitError) return { kind: 'busy' as const, message: err.providerMessage };
            throw err;
          }
        },
      });
    },

    async aistudioGetJob(args: { jobId: string }) {
      const j = await aistudio().getJob(args.jobId, { signal: signal() });
      return {
        status: j.status,
        progressPercentage: j.progressPercentage,
        statusMessage: j.statusMessage,
        errorMessage: j.errorMessage,
        logs: j.logs.map((l) => l.message),
      };
    },

    /** GET …/download answers 302; its Location (the CDN URL) is streamed here. */
    async aistudioDownload(args: { jobId: string; outputSubdir: string; fileName: string }): Promise<DeliveredFile> {
      const { location } = await aistudio().downloadUrl(args.jobId, { signal: signal() });
      return deliver(deps, 'aistudio', location, args.outputSubdir, args.fileName);
    },
  };
}
