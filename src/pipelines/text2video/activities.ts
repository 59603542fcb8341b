import { NotFoundError } from '../../providers/errors';
import type { DeliveredFile } from '../../contract/common';
import { text2videoWindow } from '../../activities/reconcile';
import { RUN_TO_END, cancellable, createAtMostOnce, deliverDownload, onFirstUse, type ActivityDeps } from '../../activities/shared';
import { Text2videoClient } from './client';
import type { Text2videoJobStatus } from './schemas';

/** The text2video pipeline's activities: submit, status, download. */
export function createText2videoActivities(deps: ActivityDeps) {
  const text2video = onFirstUse(() => Text2videoClient.fromSettings(deps.config.providers.text2video, { dispatcher: deps.dispatcher }));

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
          const jobs = await text2video().listJobs(RUN_TO_END);
          return text2videoWindow(
            jobs.map((j) => ({ id: j.jobId, createdAt: j.createdAt })),
            sinceMs,
          );
        },
        create: async () => ({ jobId: (await text2video().generate({ text: args.text }, RUN_TO_END)).jobId }),
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
        const s = await text2video().status(args.jobId, cancellable());
        return { found: true, status: s.status, progress: s.progress, message: s.message, logs: s.logs, error: s.error };
      } catch (err) {
        if (err instanceof NotFoundError) return { found: false };
        throw err;
      }
    },

    async text2videoDownload(args: { jobId: string; outputSubdir: string; fileName: string }): Promise<{ found: false } | { found: true; file: DeliveredFile }> {
      const url = text2video().downloadUrl(args.jobId);
      try {
        return { found: true, file: await deliverDownload(deps, 'text2video', { jobId: args.jobId, url }, args.outputSubdir, args.fileName) };
      } catch (err) {
        if (err instanceof NotFoundError) return { found: false };
        throw err;
      }
    },
  };
}
