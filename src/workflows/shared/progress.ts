import { cutShortNotes } from './cut-short';
import { setCurrentDetails, setHandler, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import { progressQuery as startingProgressQuery } from '../../contract/progress';
import type { PipelineProgress } from '../../contract/progress';
import { REELAY_JOB_IDS, REELAY_PROVIDER, REELAY_STAGE } from '../../contract/search-attributes';
import { continuation } from './continuation';

export { progressQuery, type PipelineProgress } from '../../contract/progress';

const LOG_LINES_KEPT = 20;

/**
 * The server refuses a search attribute value over 2,048 bytes (the dev server's and Temporal Cloud's
 * default), failing the run: the ids kept searchable are the first ones, in the order they came, that fit.
 */
const JOB_IDS_MAX_BYTES = 2000;

function searchableIds(all: string[]): string[] {
  const ids: string[] = [];
  let bytes = 2;
  for (const id of new Set(all)) {
    const more = JSON.stringify(id).length + 1;
    if (bytes + more > JOB_IDS_MAX_BYTES) break;
    bytes += more;
    ids.push(id);
  }
  return ids;
}

/**
 * Progress state of one pipeline: answers the `progress` query, mirrors itself into the UI's current
 * details, and keeps the stage and provider ids in search attributes. Updates to search attributes are
 * made only when a value changes, so a long wait adds no events.
 */
export class ProgressTracker {
  private readonly state: PipelineProgress;
  private readonly summary: string;
  /** The provider ids the ReelayJobIds search attribute holds, one a line. */
  private searchable = '';

  constructor(pipeline: string, provider: string, summary: string) {
    const now = new Date().toISOString();
    this.summary = summary;
    // A run continued from another carries on its progress (and its search attributes are carried over).
    const ctx = continuation();
    const carried = ctx?.state.progress;
    this.state = carried ?? { pipeline, provider, stage: 'starting', percent: 0, providerIds: {}, log: [], startedAt: now, updatedAt: now };
    if (ctx) ctx.state.progress = this.state;
    if (!carried) {
      upsertSearchAttributes([
        { key: REELAY_PROVIDER, value: provider },
        { key: REELAY_STAGE, value: 'starting' },
      ]);
    }
    this.render();
  }

  /** While a continued run runs through what its predecessor did, its stage, percent and log stand. */
  private get frozen(): boolean {
    return continuation()?.replayingPredecessor ?? false;
  }

  get snapshot(): PipelineProgress {
    return this.state;
  }

  stage(stage: string, percent?: number, message?: string): void {
    if (this.frozen) return;
    if (stage !== this.state.stage) {
      this.state.stage = stage;
      upsertSearchAttributes([{ key: REELAY_STAGE, value: stage }]);
    }
    if (percent !== undefined) this.state.percent = Math.max(0, Math.min(100, Math.round(percent)));
    if (message) this.log(message);
    else this.render();
  }

  percent(percent: number): void {
    if (this.frozen) return;
    this.state.percent = Math.max(0, Math.min(100, Math.round(percent)));
    this.render();
  }

  log(message: string): void {
    if (this.frozen) return;
    this.state.log.push({ at: new Date().toISOString(), message });
    if (this.state.log.length > LOG_LINES_KEPT) this.state.log.splice(0, this.state.log.length - LOG_LINES_KEPT);
    this.render();
  }

  providerId(role: string, id: string): void {
    if (this.state.providerIds[role] === id) return;
    this.state.providerIds[role] = id;
    const all = [...new Set(Object.values(this.state.providerIds))];
    const ids = searchableIds(all);
    // Past the server's size limit an id is in `progress` only (a 50-audio LipDub run has 100 ids): a list
    // cut short that did not change is not sent again. Any other change is, as it always was.
    const unchangedCut = ids.length < all.length && ids.join('\n') === this.searchable;
    this.searchable = ids.join('\n');
    if (!unchangedCut) upsertSearchAttributes([{ key: REELAY_JOB_IDS, value: ids }]);
    this.render();
  }

  leftAtProvider(items: string[]): void {
    // Calls the cancel cut short, whose outcome at the provider is unknown, follow the jobs found.
    this.state.leftAtProvider = [...items, ...cutShortNotes().filter((n) => !items.includes(n))];
    this.render();
  }

  private render(): void {
    this.state.updatedAt = new Date().toISOString();
    const ids = Object.entries(this.state.providerIds)
      .map(([k, v]) => `${k}=${v}`)
      .join(', ');
    const last = this.state.log[this.state.log.length - 1]?.message;
    // Markdown joins single line breaks into one paragraph (the UI showed "… Stage: dubbing (25%) Provider
    // ids: …" on one line): the facts are a list under the summary, one item a line.
    const facts = [
      `**Stage:** ${this.state.stage} (${this.state.percent}%)`,
      ids ? `**Provider ids:** ${ids}` : undefined,
      last ? `**Last:** ${last}` : undefined,
      this.state.leftAtProvider?.length ? `**Left at provider:** ${this.state.leftAtProvider.join('; ')}` : undefined,
    ].filter(Boolean);
    setCurrentDetails([`**${this.summary}**`, '', ...facts.map((f) => `- ${f}`)].join('\n'));
  }
}


/**
 * Answer `progress` from a run's first workflow task, before the pipeline has its input back from the
 * validateInput activity and builds its ProgressTracker (which then answers instead): a client that
 * queries right after starting gets "starting", not "no handler for progress". A continued run answers
 * with the progress it carried.
 */
export function answerProgressFromStart(carried?: PipelineProgress): void {
  const { workflowType, startTime } = workflowInfo();
  const at = startTime.toISOString();
  const starting: PipelineProgress = carried ?? {
    pipeline: workflowType,
    provider: workflowType.replace(/Pipeline$/, ''),
    stage: 'starting',
    percent: 0,
    providerIds: {},
    log: [],
    startedAt: at,
    updatedAt: at,
  };
  setHandler(startingProgressQuery, () => starting);
}

/**
 * A fresh run cancelled before its input came back from validateInput has created nothing anywhere:
 * `progress` says it was cancelled, with nothing left at the provider, instead of "starting" for good.
 * (A query's contents may change without a patch: docs/evolving-workflows.md.) A continued run keeps
 * answering what it carried.
 */
export function answerProgressCancelledBeforeInput(): void {
  const { workflowType, startTime, continuedFromExecutionRunId } = workflowInfo();
  if (continuedFromExecutionRunId) return;
  const at = startTime.toISOString();
  const now = new Date().toISOString();
  const cancelled: PipelineProgress = {
    pipeline: workflowType,
    provider: workflowType.replace(/Pipeline$/, ''),
    stage: 'cancelled',
    percent: 0,
    providerIds: {},
    log: [{ at: now, message: 'Cancelled before it started; nothing was created at the provider' }],
    startedAt: at,
    updatedAt: now,
    leftAtProvider: [],
  };
  setHandler(startingProgressQuery, () => cancelled);
}
