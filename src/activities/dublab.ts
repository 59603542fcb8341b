import { ApplicationFailure, Context, log } from '@temporalio/activity';
import { DublabClient } from '../providers/dublab/client';
import { ConflictError, PermissionDeniedError } from '../providers/errors';
import { redactUrl } from '../providers/http';
import type { DeliveredFile } from '../workflows/inputs/common';
import type { DublabOutputType } from '../workflows/inputs/dublab';
import { type ActivityDeps, activityTransferHooks, markCreateSent, pipelineOutputDir } from './shared';
import { contentTypeFor, downloadToFile, probeSource, sourceFileName, uploadToSignedUrl } from './transfer';

/** File extension per output type. Subtitles are assumed WebVTT and posters PNG (docs/provider-assumptions.md). */
const OUTPUT_EXTENSION: Record<DublabOutputType, string> = {
  translated_mp4: '.mp4',
  translated: '.mp4',
  translated_mp3: '.mp3',
  translated_subtitle: '.vtt',
  original: '.mp4',
  original_mp4: '.mp4',
  original_mp3: '.mp3',
  original_subtitle: '.vtt',
  poster: '.png',
};

export function dublabOutputFileName(type: DublabOutputType): string {
  return `${type}${OUTPUT_EXTENSION[type]}`;
}

/** DubLab's `name` carries the marker: `<name> [reelay:<workflowId>]`, so `GET /dubs` finds our own dubs. */
export function dublabMarkedName(name: string, workflowId: string): string {
  return `${name} [reelay:${workflowId}]`;
}

export interface DublabDubState {
  fileId: string;
  language: string;
  externalStatusId: number;
  errorMessage: string | null;
}

export function createDublabActivities(deps: ActivityDeps) {
  let client: DublabClient | undefined;
  const dublab = () => (client ??= DublabClient.fromEnv(deps.env, { dispatcher: deps.dispatcher }));

  return {
    async dublabGetCredits(): Promise<{ credits: number }> {
      const me = await dublab().me({ signal: Context.current().cancellationSignal });
      return { credits: me.credits };
    },

    /**
     * One `init-dub-group` and one upload for every language, inside one activity so the presigned URL
     * stays here. DubLab bills on completion, not on init, so a retry that creates a second group costs
     * nothing; still, a retry first looks for a group an earlier attempt uploaded, by the marked name.
     */
    async dublabCreateGroup(args: {
      workflowId: string;
      source: string;
      contentType?: string;
      name?: string;
      sourceLanguage: string;
      targetLanguages: string[];
      durationSeconds: number;
    }): Promise<{ projectId: string; files: Array<{ fileId: string; language: string }>; bytes: number; sha256: string }> {
      const signal = Context.current().cancellationSignal;
      const name = dublabMarkedName(args.name ?? sourceFileName(args.source), args.workflowId);
      // Reuse a group only once an earlier attempt recorded its upload as done (`sent`): a group whose
      // upload was cut short cannot be started (412). Making a new one then costs nothing, since DubLab
      // bills on completion.
      const prev = (Context.current().info.heartbeatDetails ?? {}) as { sent?: boolean; projectId?: string; bytes?: number; sha256?: string };
      if (Context.current().info.attempt > 1 && prev.sent === true && prev.projectId) {
        const mine = (await dublab().listDubs({ signal })).filter((d) => d.name === name && d.projectId === prev.projectId);
        if (mine.length === args.targetLanguages.length) {
          log.info('Reusing the dub group an earlier attempt uploaded', { projectId: prev.projectId });
          return {
            projectId: String(prev.projectId),
            files: mine.map((d) => ({ fileId: d.id, language: d.targetLang })),
            bytes: prev.bytes ?? 0,
            sha256: prev.sha256 ?? '',
          };
        }
      }
      const probed = await probeSource(args.source, { signal, dispatcher: deps.dispatcher });
      const contentType = args.contentType ?? probed.contentType ?? contentTypeFor(args.source) ?? 'video/mp4';
      const group = await dublab().initDubGroup(
        {
          fileType: contentType,
          name,
          source_lang: args.sourceLanguage,
          duration: args.durationSeconds,
          dest_langs: args.targetLanguages,
        },
        { signal },
      );
      const uploaded = await uploadToSignedUrl(
        { source: args.source, url: group.uploadUrl, contentType, provider: 'dublab' },
        activityTransferHooks(deps, 'uploading', { projectId: group.projectId }),
      );
      markCreateSent({ projectId: group.projectId, ...uploaded });
      return { projectId: group.projectId, files: group.files.map((f) => ({ fileId: f.fileId, language: f.destLang })), ...uploaded };
    },

    /** Start one dub. DubLab answers 409 to a second start, so a retry after a lost answer is safe. */
    async dublabStartDub(args: { fileId: string }): Promise<{ alreadyStarted: boolean }> {
      try {
        await dublab().startDub(args.fileId, { signal: Context.current().cancellationSignal });
        return { alreadyStarted: false };
      } catch (err) {
        if (err instanceof ConflictError) return { alreadyStarted: true };
        throw err;
      }
    },

    /** Status of every dub of a project, in one call; the signed URLs it also returns stay here. */
    async dublabGetProjectStatus(args: { projectId: string }): Promise<DublabDubState[]> {
      const project = await dublab().projectOutputs(args.projectId, { signal: Context.current().cancellationSignal });
      return project.files.map((f) => ({
        fileId: f.fileId,
        language: f.targetLang,
        externalStatusId: f.externalStatusId,
        errorMessage: f.externalErrorMessage ?? null,
      }));
    },

    /** Fetch fresh outputs (their URLs expire) and download the types asked for, one after another. */
    async dublabDownloadOutputs(args: {
      fileId: string;
      language: string;
      types: DublabOutputType[];
      outputSubdir: string;
    }): Promise<Array<DeliveredFile & { type: DublabOutputType }>> {
      const signal = Context.current().cancellationSignal;
      const dir = pipelineOutputDir(deps, `${args.outputSubdir}/${args.language}`);
      const delivered: Array<DeliveredFile & { type: DublabOutputType }> = [];
      for (const type of args.types) {
        for (let fresh = 0; ; fresh++) {
          const { outputs } = await dublab().dubOutputs(args.fileId, { signal });
          const entry = outputs[type];
          if (!entry) {
            throw ApplicationFailure.create({
              type: 'OutputMissing',
              nonRetryable: true,
              message: `DubLab GET /dubs/{fileId}/outputs: dub ${args.fileId} (${args.language}) has no ${type} output; it offers: ${Object.keys(outputs).join(', ') || 'nothing'}`,
            });
          }
          const url = entry.downloadUrl ?? entry.url;
          try {
            const file = await downloadToFile(
              { url, dir, name: dublabOutputFileName(type), provider: 'dublab' },
              activityTransferHooks(deps, `downloading ${type}`, { fileId: args.fileId }),
            );
            delivered.push({ type, path: file.path, bytes: file.bytes, sha256: file.sha256, contentType: file.contentType, providerUrl: redactUrl(url) });
            break;
          } catch (err) {
            if (err instanceof PermissionDeniedError && fresh === 0) continue;
            throw err;
          }
        }
      }
      return delivered;
    },
  };
}
