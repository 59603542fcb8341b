import { Context } from '@temporalio/activity';
import { AistudioClient } from '../providers/aistudio/client';
import { BadRequestError, NotFoundError, RateLimitError } from '../providers/errors';
import { redactUrl } from '../providers/http';
import { Text2videoClient } from '../providers/text2video/client';
import { VividflowClient } from '../providers/vividflow/client';
import type { DeliveredFile } from '../workflows/inputs/common';
import type { AistudioPipelineParsed } from '../workflows/inputs/aistudio';
import type { VividflowPipelineParsed } from '../workflows/inputs/vividflow';
import { type ActivityDeps, activityTransferHooks, createOnce, pipelineOutputDir } from './shared';
import { downloadToFile } from './transfer';

type VividParams = Omit<VividflowPipelineParsed, 'outputName' | 'outputSubdir' | 'polling'>;
type AistudioParams = Omit<AistudioPipelineParsed, 'outputName' | 'outputSubdir' | 'polling' | 'slotWait'>;

async function deliver(deps: ActivityDeps, provider: 'text2video' | 'vividflow' | 'aistudio', url: string, outputSubdir: string, fileName: string): Promise<DeliveredFile> {
  const file = await downloadToFile(
    { url, dir: pipelineOutputDir(deps, outputSubdir), name: fileName, provider },
    activityTransferHooks(deps, 'downloading'),
  );
  return { path: file.path, bytes: file.bytes, sha256: file.sha256, contentType: file.contentType, providerUrl: redactUrl(url) };
}

/** Activities of the three generation providers: text2video, Vivid Flow and AI Studio. */
export function createGenerationActivities(deps: ActivityDeps) {
  let t2v: Text2videoClient | undefined;
  let vivid: VividflowClient | undefined;
  let studio: AistudioClient | undefined;
  const text2video = () => (t2v ??= Text2videoClient.fromEnv(deps.env, { dispatcher: deps.dispatcher }));
  const vividflow = () => (vivid ??= VividflowClient.fromEnv(deps.env, { dispatcher: deps.dispatcher }));
  const aistudio = () => (studio ??= AistudioClient.fromEnv(deps.env, { dispatcher: deps.dispatcher }));
  const signal = () => Context.current().cancellationSignal;

  return {
    /** Submitting is free on the self-hosted server, so a retry after a lost answer only costs compute. */
    async text2videoSubmit(args: { text: string }): Promise<{ jobId: string }> {
      const res = await text2video().generate({ text: args.text }, { signal: signal() });
      return { jobId: res.jobId };
    },

    /** `found: false` when the server no longer knows the job (it restarted): the workflow resubmits. */
    async text2videoGetStatus(args: { jobId: string }): Promise<
      | { found: false }
      | { found: true; status: 'queued' | 'processing' | 'completed' | 'failed'; progress: number; message: string; logs: string[]; error?: string }
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

    /** Billable (credits). An answer we did not get ends in OutcomeUnknown rather than a second job. */
    async vividflowGenerate(args: { workflowId: string } & VividParams): Promise<{ jobId: string }> {
      const { workflowId, ...params } = args;
      return createOnce(
        `Vivid Flow job for workflow ${workflowId}`,
        'Check GET /history for a job with this prompt created around the time the workflow started.',
        async () => ({ jobId: (await vividflow().generate(params, { signal: signal() })).jobId }),
      );
    },

    async vividflowGetStatus(args: { jobId: string }) {
      const s = await vividflow().status(args.jobId, { signal: signal() });
      return { status: s.status, message: s.message, errorMessage: s.errorMessage, metrics: s.metrics };
    },

    /** Cancel at Vivid Flow. It cancels only queued jobs; any other state is a 400 whose message we report. */
    async vividflowCancel(args: { jobId: string }): Promise<{ cancelled: boolean; message: string }> {
      try {
        const r = await vividflow().cancel(args.jobId, { signal: signal() });
        return { cancelled: true, message: r.message };
      } catch (err) {
        if (err instanceof BadRequestError) {
          // Refused: the job is past the queue, or an earlier attempt whose answer was lost cancelled it.
          const now = await vividflow().status(args.jobId, { signal: signal() });
          return { cancelled: now.status === 'cancelled', message: err.providerMessage };
        }
        throw err;
      }
    },

    /** The result URL is read fresh from the status, inside the activity. */
    async vividflowDownload(args: { jobId: string; outputSubdir: string; fileName: string }): Promise<DeliveredFile> {
      const s = await vividflow().status(args.jobId, { signal: signal() });
      if (!s.resultUrl) throw new Error(`Vivid Flow job ${args.jobId} is ${s.status} but has no result_url`);
      return deliver(deps, 'vividflow', s.resultUrl, args.outputSubdir, args.fileName);
    },

    /**
     * Create an AI Studio job; 50 tokens are taken at creation. The 3-concurrent-jobs 429 is returned as
     * `busy`, not thrown: the workflow waits for a slot on a durable timer and tries again.
     */
    async aistudioCreateJob(
      args: { workflowId: string } & AistudioParams,
    ): Promise<{ kind: 'created'; jobId: string; tokensConsumed?: number } | { kind: 'busy'; message: string }> {
      const { workflowId, ...params } = args;
      return createOnce(
        `AI Studio job for workflow ${workflowId}`,
        'Check GET /video-jobs for a job with this prompt created around the time the workflow started.',
        async () => {
          try {
            const job = await aistudio().createJob(params, { signal: signal() });
            return { kind: 'created' as const, jobId: job.id, tokensConsumed: job.tokensConsumed };
          } catch (err) {
            if (err instanceof RateLimitError) return { kind: 'busy' as const, message: err.providerMessage };
            throw err;
          }
        },
      );
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
