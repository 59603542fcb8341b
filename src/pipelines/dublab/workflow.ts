import { ApplicationFailure, CancellationScope, isCancellation, patched, setHandler, workflowInfo } from '@temporalio/workflow';
import type {
  DublabPipelineInput,
  DublabLanguageResult,
  DublabPipelineParsed,
  DublabPipelineResult,
} from './input';
import { DUBLAB_POLLING_DEFAULTS, dublabCredits } from './spec';
import { CANCEL_WAITS_FOR_CREATES, CREATE_CALL, STATUS_CALL, TRANSFER_CALL, createActivities, statusActivities, transferActivities, withSummary } from '../../workflows/activity-proxies';
import { refLabel } from '../../contract/file-refs';
import { validatedInput } from '../../workflows/shared/input';
import { Deadline, pollUntil, pollingConfig, probe } from '../../workflows/shared/polling';
import { ProgressTracker, progressQuery } from '../../workflows/shared/progress';

/** DubLab's public status surface (docs, "Status Codes"). */
const STATUS = { UPLOADING: 1, IN_QUEUE: 2, PROCESSING: 3, FAILED: 4, COMPLETED: 5 } as const;
const STATUS_NAME: Record<number, string> = { 1: 'uploading', 2: 'in queue', 3: 'processing', 4: 'failed', 5: 'completed' };
/** A status id the docs do not list (any other number, or text): the dub is still waited for. */
const undocumented = (s: number | string): boolean => typeof s !== 'number' || STATUS_NAME[s] === undefined;
const isFinal = (s: number | string | undefined): boolean => s === STATUS.COMPLETED || s === STATUS.FAILED;

/**
 * Dub one video into one or many languages at DubLab: one `init-dub-group` and one upload, start every
 * file, wait until every dub completed (or failed) as `GET /dubs` reports it — the endpoint the docs say to
 * poll, one call per poll for every language — then fetch fresh outputs — their URLs expire — and
 * download the types asked for. Percentages: upload 0–20, dubbing 20–85, downloads 85–100.
 */
export async function dublabPipeline(rawInput: DublabPipelineInput): Promise<DublabPipelineResult> {
  const input: DublabPipelineParsed = await validatedInput('dublabPipeline', rawInput, () => (require('./input') as typeof import('./input')).DublabPipelineInput);
  const { workflowId } = workflowInfo();
  const polling = pollingConfig(DUBLAB_POLLING_DEFAULTS, input.polling);
  const deadline = new Deadline(polling.deadlineMinutes, 'DubLab pipeline');
  const progress = new ProgressTracker('dublabPipeline', 'dublab', `DubLab dub ${input.sourceLanguage} → ${input.targetLanguages.join(', ')}`);
  setHandler(progressQuery, () => progress.snapshot);
  const outputSubdir = input.outputSubdir ?? workflowId;
  const dubStatus = new Map<string, { language: string; status: number | string; unlisted?: boolean }>();
  let projectId: string | undefined;

  try {
    if (input.checkCredits) {
      progress.stage('checking-credits', 1);
      const { credits } = await withSummary(STATUS_CALL, statusActivities.dublabGetCredits, 'Check DubLab credits');
      if (credits === null) {
        progress.log("DubLab's GET /me shows no credit balance (the docs name no field for it); the credit check is skipped");
      }
      // Billing is per second of measured output, once per language (docs, "Notes"); duration is our estimate.
      const needed = dublabCredits(input.durationSeconds, input.targetLanguages.length);
      if (credits !== null && credits < needed) {
        throw ApplicationFailure.nonRetryable(
          `DubLab credits are short: ${credits} available, about ${needed} needed (${input.durationSeconds}s × ${input.targetLanguages.length} languages)`,
          'InsufficientCredits',
        );
      }
      if (credits !== null) progress.log(`DubLab credits: ${credits} available, about ${needed} needed`);
    }

    progress.stage('uploading', 2, `Creating the dub group and uploading ${refLabel(input.source)}`);
    const group = await withSummary(TRANSFER_CALL, transferActivities.dublabCreateGroup, `Create dub group and upload (${input.targetLanguages.length} languages)`, {
      workflowId,
      source: input.source,
      contentType: input.contentType,
      name: input.name,
      sourceLanguage: input.sourceLanguage,
      targetLanguages: input.targetLanguages,
      durationSeconds: input.durationSeconds,
    });
    projectId = group.projectId;
    progress.providerId('projectId', group.projectId);
    for (const f of group.files) {
      progress.providerId(`fileId:${f.language}`, f.fileId);
      dubStatus.set(f.fileId, { language: f.language, status: STATUS.UPLOADING });
    }
    progress.log(`Uploaded ${group.bytes} bytes to project ${group.projectId}`);

    progress.stage('starting-dubs', 20);
    const starts = group.files.map(async (f) => {
      const r = await withSummary(CREATE_CALL, createActivities.dublabStartDub, `Start ${f.language} dub`, { fileId: f.fileId });
      progress.log(`${r.alreadyStarted ? 'Already started' : 'Started'} ${f.language} dub ${f.fileId}`);
    });
    if (patched(CANCEL_WAITS_FOR_CREATES)) {
      // A cancel waits for every start to end (each may have started a billed dub) before it reports.
      const settled = await Promise.allSettled(starts);
      const rejected = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected' && isCancellation(r.reason)) ?? settled.find((r) => r.status === 'rejected');
      if (rejected) throw (rejected as PromiseRejectedResult).reason;
    } else {
      await Promise.all(starts);
    }

    progress.stage('dubbing', 25, `Waiting for ${group.files.length} dub(s)`);
    // The status of every dub comes from GET /dubs (docs: "Poll: Check GET /dubs until externalStatusId = 5"),
    // one call per poll for all languages; the outputs endpoints carry no status.
    const fileIds = group.files.map((f) => f.fileId);
    const states = await pollUntil({
      check: () => withSummary(STATUS_CALL, statusActivities.dublabGetProjectStatus, `Project ${projectId} status`, { projectId: projectId!, fileIds }),
      probe: probe('dublabGetProjectStatus', { projectId: projectId!, fileIds }, `project ${projectId} dubs`),
      isDone: (all) => group.files.every((f) => isFinal(all.find((x) => x.fileId === f.fileId)?.externalStatusId)),
      onValue: (all) => {
        let changed = false;
        for (const f of group.files) {
          const known = dubStatus.get(f.fileId)!;
          const s = all.find((x) => x.fileId === f.fileId);
          if (!s) {
            if (!known.unlisted) progress.log(`GET /dubs does not list the ${known.language} dub ${f.fileId} yet; still waiting`);
            known.unlisted = true;
            continue;
          }
          known.unlisted = false;
          if (known.status === s.externalStatusId) continue;
          known.status = s.externalStatusId;
          changed = true;
          progress.log(
            undocumented(s.externalStatusId)
              ? `DubLab reported status ${JSON.stringify(s.externalStatusId)} for ${known.language}, which the docs do not list; still waiting`
              : `${known.language}: ${STATUS_NAME[s.externalStatusId as number]}`,
          );
        }
        if (changed) {
          const done = [...dubStatus.values()].filter((d) => isFinal(d.status)).length;
          progress.percent(25 + (60 * done) / group.files.length);
        }
      },
      config: polling,
      deadline,
      waitingFor: `dubs of project ${projectId}`,
    });

    const failed = states.filter((s) => s.externalStatusId === STATUS.FAILED && dubStatus.has(s.fileId));
    progress.stage('downloading', 85);
    const completed = group.files.filter((f) => !failed.some((x) => x.fileId === f.fileId));
    const dubs: DublabLanguageResult[] = await Promise.all(
      completed.map(async (f) => {
        const outputs = await withSummary(TRANSFER_CALL, transferActivities.dublabDownloadOutputs, `Download ${f.language} outputs`, {
          fileId: f.fileId,
          language: f.language,
          types: input.outputTypes,
          outputSubdir,
        });
        progress.log(`Saved ${f.language}: ${outputs.map((o) => o.path).join(', ')}`);
        return { language: f.language, fileId: f.fileId, outputs };
      }),
    );

    if (failed.length) {
      const reasons = failed.map((s) => `${dubStatus.get(s.fileId)!.language}: ${s.errorMessage ?? 'no reason given'}`).join('; ');
      progress.stage('failed', undefined, `DubLab failed ${failed.length} dub(s): ${reasons}`);
      throw ApplicationFailure.create({
        type: 'ProviderJobFailed',
        nonRetryable: true,
        message: `DubLab dub failed — ${reasons}`,
        details: [{ projectId, delivered: dubs }],
      });
    }
    progress.stage('completed', 100, `Delivered ${dubs.length} language(s)`);
    return { projectId: group.projectId, dubs };
  } catch (err) {
    if (isCancellation(err)) {
      await CancellationScope.nonCancellable(async () => {
        if (projectId && dubStatus.size && patched(CANCEL_WAITS_FOR_CREATES)) {
          // The dubs' status now: a start in flight when the cancel came has been waited for, and may have started one.
          const id = projectId;
          const now = await withSummary(STATUS_CALL, statusActivities.dublabGetProjectStatus, `Project ${id} status after cancel`, {
            projectId: id,
            fileIds: [...dubStatus.keys()],
          }).catch(() => undefined);
          for (const s of now ?? []) {
            const known = dubStatus.get(s.fileId);
            if (known) known.status = s.externalStatusId;
          }
        }
        const left = [...dubStatus.entries()]
          .filter(([, d]) => d.status === STATUS.IN_QUEUE || d.status === STATUS.PROCESSING || undocumented(d.status))
          .map(([fileId, d]) => `dub ${fileId} (${d.language}, ${undocumented(d.status) ? `status ${JSON.stringify(d.status)}` : STATUS_NAME[d.status as number]})`);
        progress.leftAtProvider(left);
        progress.stage(
          'cancelled',
          undefined,
          left.length
            ? `Cancelled; DubLab has no cancel endpoint, still running there (billed on completion): ${left.join(', ')}`
            : `Cancelled; nothing running at DubLab${projectId ? ` (project ${projectId} holds the upload)` : ''}`,
        );
      });
    } else if (progress.snapshot.stage !== 'failed') {
      progress.stage('failed', undefined, `Failed: ${(err as Error).message}`);
    }
    throw err;
  }
}
