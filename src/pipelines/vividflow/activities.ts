import { ApplicationFailure } from '@temporalio/activity';
import { BadRequestError } from '../../providers/errors';
import type { DeliveredFile } from '../../contract/common';
import { reconcileFromList } from '../../activities/reconcile';
import { RUN_TO_END, cancellable, createAtMostOnce, deliverDownload, onFirstUse, storedFileOpener, type ActivityDeps } from '../../activities/shared';
import { VividflowClient } from './client';
import { parseEstimatedWait, type VividflowGenerateRequest } from './schemas';
import type { VividflowPipelineParsed } from './input';

type VividParams = Omit<VividflowPipelineParsed, 'outputName' | 'outputSubdir' | 'polling'>;

/** Reelay's durable input → Vivid Flow's POST /generate request, field by field (the client validates it again). */
function toGenerateRequest(p: VividParams): VividflowGenerateRequest {
  return {
    prompt: p.prompt,
    model: p.model,
    imagePath: p.imagePath,
    imageUrl: p.imageUrl,
    negativePrompt: p.negativePrompt,
    cfg: p.cfg,
    width: p.width,
    height: p.height,
    length: p.length,
    steps: p.steps,
    seed: p.seed,
    durationSeconds: p.durationSeconds,
    resolution: p.resolution,
    cameraMotion: p.cameraMotion,
    subjectAnimation: p.subjectAnimation,
    environmentalAnimation: p.environmentalAnimation,
    enhancePrompt: p.enhancePrompt,
  };
}

/** The Vivid Flow pipeline's activities: generate, status, cancel (queued jobs only), download. */
export function createVividflowActivities(deps: ActivityDeps) {
  const vividflow = onFirstUse(() => VividflowClient.fromSettings(deps.config.providers.vividflow, { dispatcher: deps.dispatcher, openFile: storedFileOpener(deps) }));

  return {
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
          const history = await vividflow().history({ limit }, RUN_TO_END);
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
          const res = await vividflow().generate(toGenerateRequest(params), RUN_TO_END);
          // The job's own estimate places the first status call (src/workflows/shared/poll-schedule.ts).
          const estimatedWait = parseEstimatedWait(res.estimatedWaitTime);
          return { jobId: res.jobId, ...(estimatedWait ? { estimatedWait } : {}) };
        },
      });
    },

    async vividflowGetStatus(args: { jobId: string }) {
      const s = await vividflow().status(args.jobId, cancellable());
      return { status: s.status, message: s.message, errorMessage: s.errorMessage, metrics: s.metrics };
    },

    /**
     * Cancel at Vivid Flow. It cancels only queued jobs; any other state is a 400 whose message we report,
     * with the job's status now (a job that ended meanwhile is not left running).
     */
    async vividflowCancel(args: { jobId: string }): Promise<{ cancelled: boolean; message: string; status?: string }> {
      try {
        const r = await vividflow().cancel(args.jobId, cancellable());
        return { cancelled: true, message: r.message };
      } catch (err) {
        if (err instanceof BadRequestError) {
          // Refused: the job is past the queue, or an earlier attempt whose answer was lost cancelled it.
          const now = await vividflow().status(args.jobId, cancellable());
          return { cancelled: now.status === 'cancelled', message: err.providerMessage, status: now.status };
        }
        throw err;
      }
    },

    /** The result URL is read fresh from the status, inside the activity. */
    async vividflowDownload(args: { jobId: string; outputSubdir: string; fileName: string }): Promise<DeliveredFile> {
      const s = await vividflow().status(args.jobId, cancellable());
      if (!s.resultUrl) {
        throw ApplicationFailure.create({
          type: 'ProviderResponseInvalid',
          nonRetryable: true,
          message: `VividFlow GET /status/{job_id}: job ${args.jobId} is ${s.status} and has no result_url to download`,
        });
      }
      return deliverDownload(deps, 'vividflow', { jobId: args.jobId, url: s.resultUrl }, args.outputSubdir, args.fileName);
    },
  };
}
