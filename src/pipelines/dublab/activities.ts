import fs from 'node:fs';
import { ApplicationFailure, Context, log } from '@temporalio/activity';
import { DublabClient } from './client';
import type { DublabDub } from './schemas';
import { ConflictError, PermissionDeniedError } from '../../providers/errors';
import { redactUrl } from '../../providers/http';
import { DeliveredFile } from '../../contract/common';
import type { DublabOutputType } from './input';
import { type ActivityDeps, activityTransferHooks, markCreateSent, pipelineOutputTarget, storeHooks } from '../../activities/shared';
import { contentTypeFor, downloadToFile, probeSource, sourceFileName, uploadToSignedUrl } from '../../activities/transfer';

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

/**
 * One dub as GET /dubs reports it. `externalStatusId` is one of the documented 1–5 or, passed through
 * as it came, a value the docs do not list (the workflow keeps waiting). Results recorded before
 * GET /dubs was the source also carry `language`.
 */
export interface DublabDubState {
  fileId: string;
  language?: string;
  externalStatusId: number | string;
  errorMessage: string | null;
}

export function createDublabActivities(deps: ActivityDeps) {
  let client: DublabClient | undefined;
  const dublab = () => (client ??= DublabClient.fromSettings(deps.config.providers.dublab, { dispatcher: deps.dispatcher }));

  /**
   * GET /dubs lists every dub of the account, so one answer serves every run polling at the same moment:
   * a call already under way in this worker is joined rather than repeated.
   */
  let listing: Promise<DublabDub[]> | undefined;
  const listDubs = (): Promise<DublabDub[]> =>
    (listing ??= dublab()
      .listDubs()
      .finally(() => {
        listing = undefined;
      }));

  return {
    /** `credits` is null when GET /me shows no balance (the docs name no field): the caller skips its check. */
    async dublabGetCredits(): Promise<{ credits: number | null }> {
      const me = await dublab().me({ signal: Context.current().cancellationSignal });
      return { credits: me.credits ?? null };
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
      // The earlier attempt's files (ids and languages) are in its heartbeat: GET /dubs only confirms that
      // DubLab still lists every one of them (it shows no name or language the docs promise).
      const prev = (Context.current().info.heartbeatDetails ?? {}) as {
        sent?: boolean;
        projectId?: string;
        files?: Array<{ fileId: string; language: string }>;
        bytes?: number;
        sha256?: string;
      };
      const prevFiles = prev.files;
      if (Context.current().info.attempt > 1 && prev.sent === true && prev.projectId && Array.isArray(prevFiles) && prevFiles.length === args.targetLanguages.length) {
        const listed = new Set((await dublab().listDubs({ signal })).flatMap((d) => (d.id ? [d.id] : [])));
        if (prevFiles.every((f) => listed.has(f.fileId))) {
          log.info('Reusing the dub group an earlier attempt uploaded', { projectId: prev.projectId });
          return { projectId: String(prev.projectId), files: prevFiles, bytes: prev.bytes ?? 0, sha256: prev.sha256 ?? '' };
        }
      }
      const probed = await probeSource(args.source, { signal, dispatcher: deps.dispatcher, ...storeHooks(deps) });
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
      const files = group.files.map((f) => ({ fileId: f.fileId, language: f.destLang }));
      markCreateSent({ projectId: group.projectId, files, ...uploaded });
      return { projectId: group.projectId, files, ...uploaded };
    },

    /** Start one dub. DubLab answers 409 to a second start, so a retry after a lost answer is safe. */
    async dublabStartDub(args: { fileId: string }): Promise<{ alreadyStarted: boolean }> {
      try {
        // Not aborted by the run's cancellation: a started dub runs and is billed, the workflow must know it started.
        await dublab().startDub(args.fileId, {});
        return { alreadyStarted: false };
      } catch (err) {
        if (err instanceof ConflictError) return { alreadyStarted: true };
        throw err;
      }
    },

    /**
     * Status of the run's dubs from GET /dubs, the endpoint the docs say to poll: one call for every
     * language (and joined with other runs polling at the same moment). The dubs are picked by `fileIds`;
     * a call recorded before they were passed picks by project. A dub GET /dubs does not list is left out
     * (the workflow keeps waiting for it).
     */
    async dublabGetProjectStatus(args: { projectId: string; fileIds?: string[] }): Promise<DublabDubState[]> {
      const wanted = args.fileIds ? new Set(args.fileIds) : undefined;
      const dubs = await listDubs();
      return dubs
        .filter((d): d is DublabDub & { id: string } => d.id !== undefined && (wanted ? wanted.has(d.id) : d.projectId === args.projectId))
        .map((d) => ({ fileId: d.id, externalStatusId: d.externalStatusId, errorMessage: d.externalErrorMessage }));
    },

    /** Fetch fresh outputs (their URLs expire) and download the types asked for, one after another. */
    async dublabDownloadOutputs(args: {
      fileId: string;
      language: string;
      types: DublabOutputType[];
      outputSubdir: string;
    }): Promise<Array<DeliveredFile & { type: DublabOutputType }>> {
      const ctx = Context.current();
      const signal = ctx.cancellationSignal;
      const dir = pipelineOutputTarget(deps, `${args.outputSubdir}/${args.language}`);
      // What earlier attempts delivered (heartbeat details): a retry fetches only the rest.
      const delivered = deliveredEarlier(ctx.info.heartbeatDetails, args.types);
      const beat = () => ctx.heartbeat({ fileId: args.fileId, delivered });
      for (const type of args.types) {
        if (delivered.some((d) => d.type === type)) continue;
        for (let fresh = 0; ; fresh++) {
          // Fresh right before each download: the signed URLs expire (docs: after expiresIn seconds).
          const { outputs } = await dublab().dubOutputs(args.fileId, { signal });
          const offered = Object.keys(outputs).filter((t) => outputs[t]?.downloadUrl ?? outputs[t]?.url);
          if (!offered.length) {
            // GET /dubs said completed; "the map is empty until the dub completes", so it may lag a moment.
            throw ApplicationFailure.create({
              type: 'OutputsNotReady',
              message: `DubLab GET /dubs/{fileId}/outputs: dub ${args.fileId} (${args.language}) is completed in GET /dubs but lists no outputs yet; will retry`,
            });
          }
          const entry = outputs[type];
          const url = entry?.downloadUrl ?? entry?.url;
          if (!url) {
            throw ApplicationFailure.create({
              type: 'OutputMissing',
              nonRetryable: true,
              message: `DubLab GET /dubs/{fileId}/outputs: dub ${args.fileId} (${args.language}) has no ${type} output; it offers: ${offered.join(', ')}`,
            });
          }
          try {
            const file = await downloadToFile(
              { url, dir, name: dublabOutputFileName(type), provider: 'dublab' },
              activityTransferHooks(deps, `downloading ${type}`, { fileId: args.fileId, delivered }),
            );
            delivered.push({ type, path: file.path, bytes: file.bytes, sha256: file.sha256, contentType: file.contentType, providerUrl: redactUrl(url), uri: file.uri, etag: file.etag });
            beat();
            break;
          } catch (err) {
            if (err instanceof PermissionDeniedError && fresh === 0) continue;
            throw err;
          }
        }
      }
      // In the order asked for, whichever attempt delivered each.
      return args.types.map((t) => delivered.find((d) => d.type === t)!);
    },
  };
}

type DeliveredOutput = DeliveredFile & { type: DublabOutputType };

/**
 * The outputs an earlier attempt of dublabDownloadOutputs recorded as delivered, kept only where they
 * still stand: a local file that exists with the recorded size. An object-store output (s3://) is fetched
 * again through the store writer, which finds the completed object of this run and job and reuses it
 * without downloading (src/storage/download.ts, alreadyDelivered). The record holds no signed URL:
 * `providerUrl` was redacted (no query) before it was recorded.
 */
function deliveredEarlier(details: unknown, types: DublabOutputType[]): DeliveredOutput[] {
  const recorded = (details as { delivered?: unknown } | undefined)?.delivered;
  if (!Array.isArray(recorded)) return [];
  const kept: DeliveredOutput[] = [];
  for (const entry of recorded) {
    const parsed = DeliveredFile.safeParse(entry);
    const type = (entry as { type?: unknown }).type as DublabOutputType;
    if (!parsed.success || !types.includes(type) || kept.some((k) => k.type === type)) continue;
    if (parsed.data.uri?.startsWith('s3://')) continue;
    try {
      if (fs.statSync(parsed.data.path).size !== parsed.data.bytes) continue;
    } catch {
      continue;
    }
    kept.push({ ...parsed.data, type });
  }
  return kept;
}
