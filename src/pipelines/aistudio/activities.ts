import { RateLimitError } from '../../providers/errors';
import type { DeliveredFile } from '../../contract/common';
import { createdAtMs, reconcileFromList } from '../../activities/reconcile';
import { RUN_TO_END, cancellable, createAtMostOnce, deliverDownload, onFirstUse, storedFileOpener, type ActivityDeps } from '../../activities/shared';
import { AistudioClient } from './client';
import type { AistudioCreateJobRequest, AistudioListedJob } from './schemas';
import type { AistudioPipelineParsed } from './input';

type AistudioParams = Omit<AistudioPipelineParsed, 'outputName' | 'outputSubdir' | 'polling' | 'slotWait'>;

/** Reelay's durable input → AI Studio's POST /video-jobs request, field by field (the client validates it again). */
function toCreateJobRequest(p: AistudioParams): AistudioCreateJobRequest {
  return {
    prompt: p.prompt,
    model: p.model,
    resolution: p.resolution,
    aspectRatio: p.aspectRatio,
    durationSeconds: p.durationSeconds,
    mockMode: p.mockMode,
    generateAudio: p.generateAudio,
    initialImage: p.initialImage,
    endFrame: p.endFrame,
    referenceImages: p.referenceImages,
  };
}

/** The AI Studio pipeline's activities: create (a 429 for the 3-job limit answers `busy`), status, download. */
export function createAistudioActivities(deps: ActivityDeps) {
  const aistudio = onFirstUse(() => AistudioClient.fromSettings(deps.config.providers.aistudio, { dispatcher: deps.dispatcher, openFile: storedFileOpener(deps) }));

  return {
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
            const list = await aistudio().listJobs({ limit, offset: page * limit }, RUN_TO_END);
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
            const job = await aistudio().createJob(toCreateJobRequest(params), RUN_TO_END);
            return { kind: 'created' as const, jobId: job.id, tokensConsumed: job.tokensConsumed };
          } catch (err) {
            if (err instanceof RateLimitError) return { kind: 'busy' as const, message: err.providerMessage };
            throw err;
          }
        },
      });
    },

    async aistudioGetJob(args: { jobId: string }) {
      const j = await aistudio().getJob(args.jobId, cancellable());
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
      const { location } = await aistudio().downloadUrl(args.jobId, cancellable());
      return deliverDownload(deps, 'aistudio', { jobId: args.jobId, url: location }, args.outputSubdir, args.fileName);
    },
  };
}
