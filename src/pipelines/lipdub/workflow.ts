import { ApplicationFailure, CancellationScope, isCancellation, patched, setHandler, workflowInfo } from '@temporalio/workflow';
import { isDocumented } from '../../providers/documented';
import { LIPDUB_GENERATE_STATUSES, LIPDUB_SHOT_STATUSES, LIPDUB_TRAINING_STATUSES, LIPDUB_UPLOAD_STATUSES } from './statuses';
import type { DeliveredFile } from '../../contract/common';
import { refLabel } from '../../contract/file-refs';
import type {
  LipdubPipelineInput,
  LipdubOutput,
  LipdubPipelineParsed,
  LipdubPipelineResult,
} from './input';
import { LIPDUB_POLLING_DEFAULTS, LIPDUB_SHOT_DURATION } from './spec';
import { CANCEL_WAITS_FOR_CREATES, CREATE_CALL, STATUS_CALL, TRANSFER_CALL, createActivities, statusActivities, transferActivities, withSummary } from '../../workflows/activity-proxies';
import { Deadline, WAIT_IN_ACTIVITY, pollUntil, pollingConfig, probe } from '../../workflows/shared/polling';
import { failureInfo } from '../../workflows/shared/failure';
import { validatedInput } from '../../workflows/shared/input';
import { ProgressTracker, progressQuery } from '../../workflows/shared/progress';

const SHOT_DONE = 'finished';
const GENERATION_ENDED = new Set(['finished', 'failed']);

/** Like Promise.all, but rejects only once every promise settled: no upload still in flight is forgotten. */
async function allSettledOrThrow<T>(promises: Array<Promise<T>>): Promise<T[]> {
  const results = await Promise.allSettled(promises);
  const rejected = results.find((r): r is PromiseRejectedResult => r.status === 'rejected' && isCancellation(r.reason)) ?? results.find((r) => r.status === 'rejected');
  if (rejected) throw (rejected as PromiseRejectedResult).reason;
  return results.map((r) => (r as PromiseFulfilledResult<T>).value);
}

/**
 * Patch: when the upload's answers carry no shot id yet (the docs' flow reads it from GET /video/status),
 * the pipeline polls video status for it on durable timers instead of failing.
 */
export const LIPDUB_SHOT_ID_FROM_VIDEO_STATUS = 'lipdub-shot-id-from-video-status';

/**
 * Lip-sync one video to one or more audios at LipDub: upload video and audios in parallel (or reuse a
 * shot and audio ids), wait for the shot's processing and AI training, then per audio generate, wait and
 * download. Stage percentages: uploads 0–15, shot 15–50, generations 50–90, downloads 90–100.
 */
export async function lipdubPipeline(rawInput: LipdubPipelineInput): Promise<LipdubPipelineResult> {
  const input: LipdubPipelineParsed = await validatedInput('lipdubPipeline', rawInput, () => (require('./input') as typeof import('./input')).LipdubPipelineInput);
  const { workflowId } = workflowInfo();
  const polling = pollingConfig(LIPDUB_POLLING_DEFAULTS, input.polling);
  const deadline = new Deadline(polling.deadlineMinutes, 'LipDub pipeline');
  const languages = input.audios.map((a) => a.language).join(', ');
  const progress = new ProgressTracker('lipdubPipeline', 'lipdub', `LipDub lip-sync into ${languages}`);
  setHandler(progressQuery, () => progress.snapshot);
  const outputSubdir = input.outputSubdir ?? workflowId;

  let shotId: string | undefined = input.shotId !== undefined ? String(input.shotId) : undefined;
  let videoId: string | undefined;
  /** The shot this run made (uploaded its video), not one it was given to reuse. */
  let shotMadeHere = false;
  /** The shot was seen processed and trained. */
  let shotReady = false;
  const generations = new Map<number, { generateId: string; status: string }>();
  /** The audio ids, by the input's order, once uploaded or checked. */
  let audioIds: string[] = [];
  /** Generations downloaded (for the percentage). */
  let downloaded = 0;
  // A status the docs do not list is a new state at LipDub: keep waiting, and say so once per value.
  const undocumentedSeen = new Set<string>();
  const noteStatus = (what: string, value: string, documented: readonly string[]): void => {
    if (isDocumented(documented, value) || undocumentedSeen.has(`${what}\n${value}`)) return;
    undocumentedSeen.add(`${what}\n${value}`);
    progress.log(`LipDub reported ${what} "${value}", which the docs do not list; still waiting`);
  };

  try {
    // 1. Uploads, in parallel.
    progress.stage('uploading', 2, shotId ? `Reusing shot ${shotId}` : `Uploading video ${refLabel(input.video!)}`);
    const videoUpload = shotId
      ? Promise.resolve(undefined)
      : withSummary(TRANSFER_CALL, transferActivities.lipdubUploadVideo, 'Upload video to LipDub', {
          workflowId,
          source: input.video!,
          contentType: input.videoContentType,
          projectName: input.projectName,
          sceneName: input.sceneName,
          actorName: input.actorName,
        });
    const audioUploads = input.audios.map(async (audio, index) => {
      if (audio.audioId) {
        const status = await withSummary(STATUS_CALL, statusActivities.lipdubGetAudioStatus, `Check audio ${audio.audioId}`, { audioId: audio.audioId });
        if (status.uploadStatus !== 'completed') {
          throw ApplicationFailure.nonRetryable(`audio ${audio.audioId} is ${status.uploadStatus}, not completed`, 'AudioNotReady');
        }
        return audio.audioId;
      }
      const up = await withSummary(TRANSFER_CALL, transferActivities.lipdubUploadAudio, `Upload ${audio.language} audio`, {
        workflowId,
        index,
        source: audio.source!,
        contentType: audio.contentType,
      });
      progress.providerId(`audioId:${audio.language}`, up.audioId);
      progress.log(`Uploaded ${audio.language} audio (${up.bytes} bytes) as ${up.audioId}`);
      return up.audioId;
    });
    // Since the patch, a cancel waits for every upload's end (one may have made the shot) before it reports.
    const waitAll = patched(CANCEL_WAITS_FOR_CREATES);
    const [video, uploadedAudioIds] = waitAll
      ? await allSettledOrThrow<unknown>([videoUpload, allSettledOrThrow(audioUploads)]).then(([v, a]) => [v as Awaited<typeof videoUpload>, a as string[]] as const)
      : await Promise.all([videoUpload, Promise.all(audioUploads)]);
    audioIds = [...uploadedAudioIds];
    if (video) {
      shotId = video.shotId;
      videoId = video.videoId;
      shotMadeHere = true;
      progress.providerId('videoId', video.videoId);
      if (shotId === undefined && patched(LIPDUB_SHOT_ID_FROM_VIDEO_STATUS)) {
        // Docs' flow, step 3: the shot id comes from GET /video/status, maybe some polls after the upload.
        const vid = video.videoId;
        progress.log(`Uploaded video ${vid} (${video.bytes} bytes); waiting for LipDub to give its shot id`);
        const status = await pollUntil({
          check: () => withSummary(STATUS_CALL, statusActivities.lipdubGetVideoStatus, `Video ${vid} status`, { videoId: vid }),
          probe: probe('lipdubGetVideoStatus', { videoId: vid }, `video ${vid} status`),
          isDone: (s) => {
            if (s.uploadStatus === 'failed') {
              throw ApplicationFailure.nonRetryable(`LipDub reports the upload of video ${vid} failed (GET /video/status upload_status "failed")`, 'ProviderJobFailed');
            }
            return s.shotId !== undefined;
          },
          onValue: (s) => {
            if (s.uploadStatus !== undefined) noteStatus(`upload_status of video ${vid}`, s.uploadStatus, LIPDUB_UPLOAD_STATUSES);
          },
          config: polling,
          deadline,
          waitingFor: `the shot id of video ${vid}`,
        });
        shotId = status.shotId;
        progress.log(`Video ${vid} is shot ${shotId}`);
      } else {
        progress.log(`Uploaded video (${video.bytes} bytes); shot ${video.shotId}`);
      }
      if (shotId === undefined) {
        throw ApplicationFailure.nonRetryable(`LipDub gave no shot id for video ${video.videoId}`, 'ShotNotReady');
      }
    }
    progress.providerId('shotId', shotId!);

    // 2. Shot processing, then AI training (training starts only after the shot finished).
    progress.stage('waiting-for-shot', 15, `Waiting for shot ${shotId} to be processed and trained`);
    await pollUntil({
      check: () => withSummary(STATUS_CALL, statusActivities.lipdubGetShotStatus, `Shot ${shotId} status`, { shotId: shotId! }),
      probe: probe('lipdubGetShotStatus', { shotId: shotId! }, `shot ${shotId} status`),
      isDone: (s) => {
        if (s.shotStatus === 'failed') throw ApplicationFailure.nonRetryable(`LipDub shot ${shotId} failed processing`, 'ProviderJobFailed');
        if (s.aiTrainingStatus === 'failed') throw ApplicationFailure.nonRetryable(`LipDub AI training of shot ${shotId} failed`, 'ProviderJobFailed');
        return s.shotStatus === SHOT_DONE && s.aiTrainingStatus === SHOT_DONE;
      },
      onValue: (s) => {
        noteStatus(`shot_status of shot ${shotId}`, s.shotStatus, LIPDUB_SHOT_STATUSES);
        noteStatus(`ai_training_status of shot ${shotId}`, s.aiTrainingStatus, LIPDUB_TRAINING_STATUSES);
        const pct = s.shotStatus === SHOT_DONE ? (s.aiTrainingStatus === SHOT_DONE ? 50 : 35) : s.shotStatus === 'running' ? 25 : 15;
        progress.stage(s.shotStatus === SHOT_DONE ? 'waiting-for-training' : 'waiting-for-shot', pct);
      },
      config: polling,
      expected: LIPDUB_SHOT_DURATION,
      deadline,
      waitingFor: `shot ${shotId}`,
    });
    shotReady = true;
    progress.stage('generating', 50, `Shot ${shotId} is ready; starting ${input.audios.length} generation(s)`);

    // 3. One generation per audio. Since WAIT_IN_ACTIVITY all are started, then waited for together (one
    // status activity asks every generation still running) and each downloaded as it finishes; before it,
    // each was started, waited for and downloaded on its own.
    const results = patched(WAIT_IN_ACTIVITY) ? await generateTogether() : await generateEachOnItsOwn();
    const cancelled = results.find((r): r is PromiseRejectedResult => r.status === 'rejected' && isCancellation(r.reason));
    if (cancelled) throw cancelled.reason;
    const outputs = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    const failed = results.flatMap((r, i) => (r.status === 'rejected' ? [{ language: input.audios[i]!.language, ...failureInfo(r.reason) }] : []));
    if (failed.length) {
      const failures = failed.map((f) => `${f.language}: ${f.message}`);
      // One kind of failure (every language OutcomeUnknown, say) keeps its type; a mix is ProviderJobFailed.
      const types = new Set(failed.map((f) => f.type ?? 'ProviderJobFailed'));
      progress.stage('failed', undefined, `${failed.length} of ${input.audios.length} generation(s) failed`);
      throw ApplicationFailure.create({
        type: types.size === 1 ? [...types][0]! : 'ProviderJobFailed',
        nonRetryable: true,
        message: `LipDub: ${failures.join('; ')}`,
        details: [{ shotId, delivered: outputs }],
      });
    }
    progress.stage('completed', 100, `Delivered ${outputs.length} video(s)`);
    return { shotId: shotId!, videoId, outputs };
  } catch (err) {
    if (isCancellation(err)) {
      await CancellationScope.nonCancellable(async () => {
        const left: string[] = [];
        if (patched(CANCEL_WAITS_FOR_CREATES)) {
          left.push(...(await stillRunning()));
        } else {
          if (shotId && generations.size === 0) left.push(`shot ${shotId} (processing or trained; LipDub keeps it for reuse)`);
          for (const g of generations.values()) {
            if (g.status !== 'finished' && g.status !== 'failed') left.push(`generation ${g.generateId} (${g.status})`);
          }
        }
        progress.leftAtProvider(left);
        progress.stage(
          'cancelled',
          undefined,
          left.length ? `Cancelled; LipDub has no cancel endpoint, still there: ${left.join(', ')}` : 'Cancelled; nothing left running at LipDub',
        );
      });
    } else if (progress.snapshot.stage !== 'failed') {
      progress.stage('failed', undefined, `Failed: ${(err as Error).message}`);
    }
    throw err;
  }

  /**
   * Runs recorded before WAIT_IN_ACTIVITY: one start, wait and download per audio, side by side. Kept as it
   * was, awaits included: another async step between a start and its wait changes the order in which the
   * branches' commands come, and these runs no longer replay.
   */
  async function generateEachOnItsOwn(): Promise<Array<PromiseSettledResult<LipdubOutput>>> {
      let finished = 0;
      const results = await Promise.allSettled(
        input.audios.map(async (audio, index): Promise<LipdubOutput> => {
          const audioId = audioIds[index]!;
          const outputName = audio.outputName ?? `${audio.language}.mp4`;
          const { generateId } = await withSummary(CREATE_CALL, createActivities.lipdubStartGeneration, `Generate ${audio.language}`, {
            shotId: shotId!,
            audioId,
            language: audio.language,
            maintainExpression: audio.maintainExpression,
            outputFilename: `${workflowId}-${outputName}`,
            retryUnknownOutcome: input.retryUnknownOutcome,
          });
          generations.set(index, { generateId, status: 'started' });
          progress.providerId(`generateId:${audio.language}`, generateId);
          progress.log(`Generation ${generateId} started for ${audio.language}`);
          const final = await pollUntil({
            check: () => withSummary(STATUS_CALL, statusActivities.lipdubGetGenerationStatus, `Generation ${generateId} status`, { shotId: shotId!, generateId }),
            isDone: (s) => s.status === 'finished' || s.status === 'failed',
            onValue: (s) => {
              noteStatus(`status of generation ${generateId}`, s.status, LIPDUB_GENERATE_STATUSES);
              generations.set(index, { generateId, status: s.status });
            },
            config: polling,
            deadline,
            waitingFor: `generation ${generateId}`,
          });
          if (final.status === 'failed') {
            const why = final.failureReason ? `: ${final.failureReason}` : '';
            throw ApplicationFailure.nonRetryable(`LipDub generation ${generateId} (${audio.language}) failed${why}`, 'ProviderJobFailed');
          }
          progress.log(`Generation ${generateId} (${audio.language}) finished; downloading`);
          const file: DeliveredFile = await withSummary(TRANSFER_CALL, transferActivities.lipdubDownloadGeneration, `Download ${audio.language} result`, {
            shotId: shotId!,
            generateId,
            outputSubdir,
            fileName: outputName,
          });
          finished++;
          progress.percent(50 + (50 * finished) / input.audios.length);
          progress.log(`Saved ${audio.language} to ${file.path} (${file.bytes} bytes)`);
          return { ...file, language: audio.language, audioId, generateId };
        }),
      );
    return results;
  }

  /** Download a finished generation's video into the output directory (or store) and count it. */
  async function downloadGeneration(index: number, generateId: string): Promise<LipdubOutput> {
    const audio = input.audios[index]!;
    progress.log(`Generation ${generateId} (${audio.language}) finished; downloading`);
    const file: DeliveredFile = await withSummary(TRANSFER_CALL, transferActivities.lipdubDownloadGeneration, `Download ${audio.language} result`, {
      shotId: shotId!,
      generateId,
      outputSubdir,
      fileName: audio.outputName ?? `${audio.language}.mp4`,
    });
    downloaded++;
    progress.percent(50 + (50 * downloaded) / input.audios.length);
    progress.log(`Saved ${audio.language} to ${file.path} (${file.bytes} bytes)`);
    return { ...file, language: audio.language, audioId: audioIds[index]!, generateId };
  }

  /** Start one generation (a billed job); its id is kept for the wait and for a cancellation's report. */
  async function startGeneration(index: number): Promise<string> {
    const audio = input.audios[index]!;
    const { generateId } = await withSummary(CREATE_CALL, createActivities.lipdubStartGeneration, `Generate ${audio.language}`, {
      shotId: shotId!,
      audioId: audioIds[index]!,
      language: audio.language,
      maintainExpression: audio.maintainExpression,
      outputFilename: `${workflowId}-${audio.outputName ?? `${audio.language}.mp4`}`,
      retryUnknownOutcome: input.retryUnknownOutcome,
    });
    generations.set(index, { generateId, status: 'started' });
    progress.providerId(`generateId:${audio.language}`, generateId);
    progress.log(`Generation ${generateId} started for ${audio.language}`);
    return generateId;
  }

  /**
   * Every generation started side by side, then one wait for all that still run: each time some end, the
   * finished ones are downloaded (side by side, while the wait goes on for the rest) and the failed ones
   * recorded. A wait that fails (the deadline) fails every generation still running.
   */
  async function generateTogether(): Promise<Array<PromiseSettledResult<LipdubOutput>>> {
    const results: Array<PromiseSettledResult<LipdubOutput> | undefined> = [];
    const started = await Promise.allSettled(input.audios.map((_, index) => startGeneration(index)));
    const running = new Map<string, number>();
    started.forEach((r, index) => {
      if (r.status === 'fulfilled') running.set(r.value, index);
      else results[index] = r;
    });
    const downloads: Array<Promise<void>> = [];
    const download = async (index: number, generateId: string): Promise<void> => {
      try {
        results[index] = { status: 'fulfilled', value: await downloadGeneration(index, generateId) };
      } catch (reason) {
        results[index] = { status: 'rejected', reason };
      }
    };
    try {
      while (running.size) {
        const ids = [...running.keys()];
        let all: Array<{ generateId: string; status: string; failureReason?: string }>;
        try {
          all = await pollUntil({
            check: () => withSummary(STATUS_CALL, statusActivities.lipdubGetGenerationStatuses, `${ids.length} generation(s) status`, { shotId: shotId!, generateIds: ids }),
            probe: probe('lipdubGetGenerationStatuses', { shotId: shotId!, generateIds: ids }, `${ids.length} generation(s) of shot ${shotId}`),
            isDone: (gens) => gens.some((g) => GENERATION_ENDED.has(g.status)),
            onValue: (gens) => {
              for (const g of gens) {
                noteStatus(`status of generation ${g.generateId}`, g.status, LIPDUB_GENERATE_STATUSES);
                generations.set(running.get(g.generateId)!, { generateId: g.generateId, status: g.status });
              }
            },
            config: polling,
            deadline,
            waitingFor: ids.length === 1 ? `generation ${ids[0]}` : `${ids.length} generations of shot ${shotId}`,
          });
        } catch (err) {
          if (isCancellation(err)) throw err;
          for (const index of running.values()) results[index] = { status: 'rejected', reason: err };
          break;
        }
        for (const g of all) {
          if (!GENERATION_ENDED.has(g.status)) continue;
          const index = running.get(g.generateId)!;
          running.delete(g.generateId);
          if (g.status === 'failed') {
            const why = g.failureReason ? `: ${g.failureReason}` : '';
            const language = input.audios[index]!.language;
            results[index] = { status: 'rejected', reason: ApplicationFailure.nonRetryable(`LipDub generation ${g.generateId} (${language}) failed${why}`, 'ProviderJobFailed') };
          } else {
            downloads.push(download(index, g.generateId));
          }
        }
      }
    } finally {
      // Downloads wait for their end even on cancellation (TRANSFER_CALL): none is forgotten.
      await Promise.allSettled(downloads);
    }
    return input.audios.map((_, index) => results[index]!);
  }

  /**
   * What this run left running at LipDub, read now: its shot while it is processed or trained (a reused
   * shot is not this run's), and each generation not finished or failed. A status that cannot be read
   * keeps the item listed, with the last status known.
   */
  async function stillRunning(): Promise<string[]> {
    const left: string[] = [];
    if (shotMadeHere && shotId === undefined && videoId !== undefined) {
      const vid = videoId;
      const v = await withSummary(STATUS_CALL, statusActivities.lipdubGetVideoStatus, `Video ${vid} status after cancel`, { videoId: vid }).catch(() => undefined);
      shotId = v?.shotId;
      if (v === undefined) left.push(`video ${vid} (its shot could not be looked up; LipDub may be processing it)`);
    }
    if (shotMadeHere && shotId !== undefined && !shotReady) {
      const id = shotId;
      const s = await withSummary(STATUS_CALL, statusActivities.lipdubGetShotStatus, `Shot ${id} status after cancel`, { shotId: id }).catch(() => undefined);
      const ended = s !== undefined && (s.shotStatus === 'failed' || (s.shotStatus === SHOT_DONE && GENERATION_ENDED.has(s.aiTrainingStatus)));
      if (!ended) left.push(`shot ${id} (${s ? `shot ${s.shotStatus}, AI training ${s.aiTrainingStatus}` : 'status unknown'}; LipDub keeps it for reuse)`);
    }
    for (const g of generations.values()) {
      if (GENERATION_ENDED.has(g.status)) continue;
      const now = await withSummary(STATUS_CALL, statusActivities.lipdubGetGenerationStatus, `Generation ${g.generateId} status after cancel`, {
        shotId: shotId!,
        generateId: g.generateId,
      }).catch(() => undefined);
      if (now) g.status = now.status;
      if (!GENERATION_ENDED.has(g.status)) left.push(`generation ${g.generateId} (${g.status})`);
    }
    return left;
  }
}
