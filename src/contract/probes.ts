import type { CallActivities as Activities } from '../activities';

/**
 * What a status call says that a waiting pipeline must hear at once. Pure: the workflows (pollUntil) and
 * the wait activity (src/activities/wait.ts) share it.
 *
 * A status answer is split in two:
 * - `significant`: the state the pipeline acts on (a job's status, every dub's status id). A change is
 *   reported to the workflow by the poll that sees it.
 * - everything else (a percentage, new log lines): mirrored into `progress` at most every
 *   DETAIL_EVERY_POLLS polls, so a job that reports a percentage on every poll does not wake its
 *   workflow on every poll.
 * `progressOf` reads the fraction done (0–1) the hint scheduler uses, where the provider gives one.
 */
export interface Probe<V> {
  significant(value: V): string;
  progressOf?(value: V): number | undefined;
}

/**
 * A change beyond the significant state is reported after this many polls in one wait: with the usual
 * caps (30 s for text2video, 15 s for AI Studio) the `progress` percentage and log lines are at most
 * about 3 minutes stale, while the status itself is never staler than one poll.
 */
export const DETAIL_EVERY_POLLS = 6;

/**
 * The failure type of a wait's attempt that found nothing new (src/activities/wait.ts): the server
 * retries it after `nextRetryDelay`. Not an error: `reelay status` does not list it as a retry.
 */
export const STILL_WAITING = 'StillWaiting';

type Result<K extends keyof Activities> = Awaited<ReturnType<Activities[K]>>;

export const PROBES = {
  lipdubGetVideoStatus: { significant: (v) => `${v.shotId ?? ''}|${v.uploadStatus ?? ''}` } satisfies Probe<Result<'lipdubGetVideoStatus'>>,
  lipdubGetShotStatus: { significant: (v) => `${v.shotStatus}|${v.aiTrainingStatus}` } satisfies Probe<Result<'lipdubGetShotStatus'>>,
  lipdubGetGenerationStatuses: {
    significant: (v) => v.map((g) => `${g.generateId}=${g.status}`).join(','),
  } satisfies Probe<Result<'lipdubGetGenerationStatuses'>>,
  dublabGetProjectStatus: {
    significant: (v) => v.map((d) => `${d.fileId}=${String(d.externalStatusId)}`).sort().join(','),
  } satisfies Probe<Result<'dublabGetProjectStatus'>>,
  text2videoGetStatus: {
    significant: (v) => (v.found ? v.status : 'not found'),
    progressOf: (v) => (v.found && v.status === 'processing' && v.progress !== undefined ? v.progress / 100 : undefined),
  } satisfies Probe<Result<'text2videoGetStatus'>>,
  vividflowGetStatus: { significant: (v) => v.status } satisfies Probe<Result<'vividflowGetStatus'>>,
  aistudioGetJob: {
    significant: (v) => v.status,
    // PENDING reads 0 %; the rate counts from RUNNING on.
    progressOf: (v) => (v.status === 'RUNNING' && v.progressPercentage !== undefined ? v.progressPercentage / 100 : undefined),
  } satisfies Probe<Result<'aistudioGetJob'>>,
};

export type ProbeName = keyof typeof PROBES;
export type ProbeArgs<K extends ProbeName> = Parameters<Activities[K]>[0];
export type ProbeValue<K extends ProbeName> = Result<K>;
