import { Context, log } from '@temporalio/activity';
import { LipdubClient } from './client';
import { PermissionDeniedError } from '../../providers/errors';
import { redactUrl } from '../../providers/http';
import type { DeliveredFile } from '../../contract/common';
import {
  type ActivityDeps,
  activityTransferHooks,
  createAtMostOnce,
  markCreateSent,
  maybeSentBefore,
  pipelineOutputTarget,
  storeHooks,
} from '../../activities/shared';
import { SourceError, contentTypeFor, downloadToFile, probeSource, sourceFileName, uploadToSignedUrl } from '../../activities/transfer';

/** Marker that lets LipDub's list endpoints recognise the uploads of one pipeline run. */
export function lipdubMarker(workflowId: string, role: string): string {
  return `reelay:${workflowId}:${role}`;
}

export function createLipdubActivities(deps: ActivityDeps) {
  let client: LipdubClient | undefined;
  const lipdub = () => (client ??= LipdubClient.fromSettings(deps.config.providers.lipdub, { dispatcher: deps.dispatcher }));

  return {
    /**
     * Initiate, upload and confirm the video in one activity, so the signed upload URL never leaves it.
     * The marker in `scene_name` lets a retry find a shot an earlier attempt created.
     *
     * The shot id comes from the success answer when it carries one, else from one look at GET
     * /video/status; when neither has it yet (a normal state: the docs' flow reads it from video status),
     * `shotId` is undefined and the workflow waits for it with lipdubGetVideoStatus on durable timers.
     * Nothing here waits or throws for it, so a retry never uploads the video twice.
     */
    async lipdubUploadVideo(args: {
      workflowId: string;
      source: string;
      contentType?: string;
      projectName?: string;
      sceneName?: string;
      actorName?: string;
    }): Promise<{ videoId: string; shotId?: string; bytes: number; sha256: string }> {
      const marker = lipdubMarker(args.workflowId, 'video');
      const signal = Context.current().cancellationSignal;
      if (maybeSentBefore().maybe) {
        const prev = (Context.current().info.heartbeatDetails ?? {}) as { videoId?: string; bytes?: number; sha256?: string };
        const shots = await lipdub().listShots({ signal });
        const mine = shots.data.find((s) => s.shot_scene_name?.endsWith(marker));
        if (mine) {
          log.info('Reusing the shot an earlier attempt created', { shotId: mine.shot_id });
          return { videoId: prev.videoId ?? '', shotId: String(mine.shot_id), bytes: prev.bytes ?? 0, sha256: prev.sha256 ?? '' };
        }
        if (prev.videoId) {
          // Not listed as a shot yet: the earlier attempt's video may still have been confirmed.
          const status = await lipdub().videoStatus(prev.videoId, { signal });
          if (status.shot_id !== null || status.upload_status === 'completed') {
            log.info('Reusing the video an earlier attempt uploaded and confirmed', { videoId: prev.videoId, shotId: status.shot_id });
            return {
              videoId: prev.videoId,
              ...(status.shot_id !== null ? { shotId: String(status.shot_id) } : {}),
              bytes: prev.bytes ?? 0,
              sha256: prev.sha256 ?? '',
            };
          }
        }
      }
      const fileName = sourceFileName(args.source);
      const probed = await probeSource(args.source, { signal, dispatcher: deps.dispatcher, ...storeHooks(deps) });
      const contentType = args.contentType ?? probed.contentType ?? contentTypeFor(fileName) ?? 'video/mp4';
      const init = await lipdub().initVideo(
        {
          file_name: fileName,
          content_type: contentType,
          project_name: args.projectName ?? 'Reelay',
          scene_name: args.sceneName ? `${args.sceneName} ${marker}` : marker,
          actor_name: args.actorName ?? 'Reelay',
        },
        { signal },
      );
      let uploaded;
      try {
        uploaded = await uploadToSignedUrl(
          { source: args.source, url: init.upload_url, contentType, provider: 'lipdub' },
          activityTransferHooks(deps, 'uploading-video', { videoId: init.video_id }),
        );
      } catch (err) {
        // Tell LipDub this upload is dead, so it does not linger as `uploading`. Best effort.
        await lipdub()
          .videoFailure(init.video_id)
          .catch((e) => log.warn('Could not report the failed upload to LipDub', { error: String(e) }));
        throw err;
      }
      markCreateSent({ videoId: init.video_id, bytes: uploaded.bytes, sha256: uploaded.sha256 });
      // From here on nothing is aborted by the run's cancellation: success makes the shot (it processes and
      // trains at LipDub), so the workflow must get its id to report it.
      const success = await lipdub().videoSuccess(init.video_id, {});
      let shotId = success.shot_id;
      if (shotId === undefined) {
        // One look, best effort: the workflow polls video status for the shot id anyway.
        shotId = await lipdub()
          .videoStatus(init.video_id, {})
          .then((s) => s.shot_id ?? undefined)
          .catch((e: unknown) => {
            log.info('GET /video/status after the upload failed; the workflow will ask again', { error: String(e) });
            return undefined;
          });
      }
      return { videoId: init.video_id, ...(shotId !== undefined ? { shotId: String(shotId) } : {}), ...uploaded };
    },

    /**
     * GET /video/status/{video_id}, the docs' source of the shot id (flow step 3). `shotId` is absent
     * until LipDub made the shot; `uploadStatus` is the raw value (absent when the answer has none).
     */
    async lipdubGetVideoStatus(args: { videoId: string }): Promise<{ shotId?: string; uploadStatus?: string }> {
      const s = await lipdub().videoStatus(args.videoId, { signal: Context.current().cancellationSignal });
      return {
        ...(s.shot_id !== null ? { shotId: String(s.shot_id) } : {}),
        ...(s.upload_status !== undefined ? { uploadStatus: s.upload_status } : {}),
      };
    },

    /** Initiate, upload and confirm one audio. A retry finds an earlier attempt's audio by its file name. */
    async lipdubUploadAudio(args: {
      workflowId: string;
      index: number;
      source: string;
      contentType?: string;
    }): Promise<{ audioId: string; bytes: number; sha256: string }> {
      const signal = Context.current().cancellationSignal;
      const base = sourceFileName(args.source);
      const fileName = `${lipdubMarker(args.workflowId, `audio${args.index}`)}:${base}`.replace(/[/\\]/g, '_');
      if (maybeSentBefore().maybe) {
        const list = await lipdub().listAudio({ signal });
        const mine = list.data.find((a) => a.file_name === fileName && a.upload_status === 'completed');
        if (mine) {
          const prev = Context.current().info.heartbeatDetails as { bytes?: number; sha256?: string };
          return { audioId: mine.audio_id, bytes: prev.bytes ?? 0, sha256: prev.sha256 ?? '' };
        }
      }
      const probed = await probeSource(args.source, { signal, dispatcher: deps.dispatcher, ...storeHooks(deps) });
      if (probed.size === undefined) {
        // size_bytes is required by POST /audio; a URL without Content-Length is refused rather than spooled twice.
        throw new SourceError(`cannot tell the size of ${redactUrl(args.source)}: the server sent no Content-Length, and LipDub's POST /audio needs size_bytes`, false);
      }
      const contentType = args.contentType ?? probed.contentType ?? contentTypeFor(base) ?? 'audio/mpeg';
      const init = await lipdub().initAudio({ file_name: fileName, content_type: contentType, size_bytes: probed.size }, { signal });
      const uploaded = await uploadToSignedUrl(
        { source: args.source, url: init.upload_url, contentType, provider: 'lipdub' },
        activityTransferHooks(deps, 'uploading-audio', { audioId: init.audio_id }),
      );
      markCreateSent({ audioId: init.audio_id, bytes: uploaded.bytes, sha256: uploaded.sha256 });
      await lipdub().audioSuccess(init.audio_id, { signal });
      return { audioId: init.audio_id, ...uploaded };
    },

    async lipdubGetAudioStatus(args: { audioId: string }): Promise<{ uploadStatus: string }> {
      const s = await lipdub().audioStatus(args.audioId, { signal: Context.current().cancellationSignal });
      return { uploadStatus: s.upload_status };
    },

    async lipdubGetShotStatus(args: { shotId: string }): Promise<{ shotStatus: string; aiTrainingStatus: string }> {
      const s = await lipdub().shotStatus(args.shotId, { signal: Context.current().cancellationSignal });
      return { shotStatus: s.shot_status, aiTrainingStatus: s.ai_training_status };
    },

    /**
     * Start one generation: billable, and LipDub has no list of generations to reconcile against. So an
     * answer we did not get (timeout, reset, 5xx other than 503) or an earlier attempt that may have sent
     * the call ends in OutcomeUnknown instead of a second generation, unless the caller opted into
     * `retryUnknownOutcome`.
     */
    async lipdubStartGeneration(args: {
      shotId: string;
      audioId: string;
      language: string;
      maintainExpression: boolean;
      outputFilename: string;
      retryUnknownOutcome?: boolean;
    }): Promise<{ generateId: string }> {
      return createAtMostOnce({
        what: `LipDub generation ${args.outputFilename} (shot ${args.shotId}, audio ${args.audioId})`,
        check: `Check the LipDub dashboard for output_filename ${args.outputFilename}; start the pipeline again with the existing shotId and audioId if it is not there.`,
        retryUnknownOutcome: args.retryUnknownOutcome,
        create: async () => {
          const res = await lipdub().generate(
            args.shotId,
            {
              audio_id: args.audioId,
              output_filename: args.outputFilename,
              language: args.language,
              maintain_expression: args.maintainExpression,
            },
            // Not aborted by the run's cancellation: a generation started is billed (see createAtMostOnce).
            {},
          );
          return { generateId: res.generateId };
        },
      });
    },

    async lipdubGetGenerationStatus(args: { shotId: string; generateId: string }): Promise<{ status: string; failureReason?: string }> {
      const s = await lipdub().generateStatus(args.shotId, args.generateId, { signal: Context.current().cancellationSignal });
      return { status: s.status, ...(s.failureReason ? { failureReason: s.failureReason } : {}) };
    },

    /**
     * The status of several generations of one shot, in one activity: a pipeline waiting for 50
     * generations asks once per poll, not 50 times. LipDub has no list endpoint for them, so it is one
     * GET per generation, at most 8 at a time; any call that fails fails the whole attempt (it is retried).
     */
    async lipdubGetGenerationStatuses(args: { shotId: string; generateIds: string[] }): Promise<Array<{ generateId: string; status: string; failureReason?: string }>> {
      const signal = Context.current().cancellationSignal;
      const out: Array<{ generateId: string; status: string; failureReason?: string }> = new Array(args.generateIds.length);
      let next = 0;
      const worker = async () => {
        for (let i = next++; i < args.generateIds.length; i = next++) {
          const generateId = args.generateIds[i]!;
          const s = await lipdub().generateStatus(args.shotId, generateId, { signal });
          out[i] = { generateId, status: s.status, ...(s.failureReason ? { failureReason: s.failureReason } : {}) };
        }
      };
      await Promise.all(Array.from({ length: Math.min(8, args.generateIds.length) }, worker));
      return out;
    },

    /** Fetch a fresh download URL and stream the result; an expired URL is fetched anew once. */
    async lipdubDownloadGeneration(args: {
      shotId: string;
      generateId: string;
      outputSubdir: string;
      fileName: string;
    }): Promise<DeliveredFile> {
      const signal = Context.current().cancellationSignal;
      const dir = pipelineOutputTarget(deps, args.outputSubdir);
      for (let fresh = 0; ; fresh++) {
        const { download_url } = await lipdub().generateDownload(args.shotId, args.generateId, { signal });
        try {
          const file = await downloadToFile(
            { url: download_url, dir, name: args.fileName, provider: 'lipdub' },
            activityTransferHooks(deps, 'downloading', { generateId: args.generateId }),
          );
          return { path: file.path, bytes: file.bytes, sha256: file.sha256, contentType: file.contentType, providerUrl: redactUrl(download_url), uri: file.uri, etag: file.etag };
        } catch (err) {
          if (err instanceof PermissionDeniedError && fresh === 0) continue;
          throw err;
        }
      }
    },
  };
}
