import type { Client } from '@temporalio/client';
import { listQuery, listRuns, type ListStatus, type ListedRun } from '../cli/commands/list';
import { describeOrFail } from '../cli/commands/shared';
import { statusReport, type StatusReport } from '../cli/commands/status';
import { awaitOutcome, outputFiles, queryProgress, type OutputFile } from '../cli/pipelines';
import type { PipelineProgress } from '../contract/progress';
import { REELAY_STAGE } from '../contract/search-attributes';
import type { BatchPipelineResult, BatchProgress } from '../pipelines/batch/input';
import { batchProgressQuery } from '../pipelines/batch/signals';
import { WORKFLOW_TYPES } from '../pipelines/registry';

/**
 * What the pages show, read from Temporal only (visibility with the Reelay search attributes, describe,
 * history, the `progress` and `batchProgress` queries) through the CLI's own helpers and the client it
 * was given, so the data converter (payload encryption) is the CLI's.
 */

export const BATCH_TYPE = 'batchPipeline';
/** A list page asks running rows for their progress with this deadline; the rest show the server's stage. */
const LIST_QUERY_TIMEOUT_MS = 1500;
/** Rows of a list page asked for progress (the rest show the server-side stage). */
const LIST_PROGRESS_ROWS = 50;

/** A request for something that is not there or not ours: the server turns it into a page with this status. */
export class DashboardError extends Error {
  override name = 'DashboardError';
  constructor(
    readonly status: number,
    readonly title: string,
    message: string,
  ) {
    super(message);
  }
}

export interface ListFilters {
  pipeline?: string;
  status?: ListStatus;
  provider?: string;
  jobId?: string;
  /** Only runs on this task queue (several deployments sharing a namespace). */
  taskQueue?: string;
  limit: number;
}

export interface RunRow extends ListedRun {
  progress?: PipelineProgress;
  /** A running batch's own answer to batchProgress. */
  batch?: BatchProgress;
}

/** Summaries by run id (they never change), so a list refreshed every 2 s describes only new runs. */
export class SummaryCache extends Map<string, string | undefined> {
  constructor(private readonly max = 5000) {
    super();
  }
  override set(runId: string, summary: string | undefined): this {
    if (this.size >= this.max) this.delete(this.keys().next().value!);
    return super.set(runId, summary);
  }
}

export async function listRows(client: Client, f: ListFilters, summaries?: SummaryCache): Promise<RunRow[]> {
  const query = listQuery({ workflowType: f.pipeline, status: f.status, provider: f.provider, jobId: f.jobId, taskQueue: f.taskQueue });
  const rows: RunRow[] = await listRuns(client, query, f.limit, summaries);
  await Promise.all(
    rows.slice(0, LIST_PROGRESS_ROWS).map(async (r) => {
      if (r.status !== 'RUNNING') return;
      const handle = client.workflow.getHandle(r.workflowId, r.runId);
      if (r.type === BATCH_TYPE) r.batch = await client.withDeadline(Date.now() + LIST_QUERY_TIMEOUT_MS, () => handle.query(batchProgressQuery)).catch(() => undefined);
      else r.progress = await queryProgress(client, handle, LIST_QUERY_TIMEOUT_MS);
    }),
  );
  return rows;
}

export interface StageStep {
  stage: string;
  at: string;
}

export interface RunView {
  report: StatusReport;
  timeline: StageStep[];
}

/** The run behind `workflowId`, refused when it is not a Reelay pipeline (404) or a batch (the batch page shows those). */
async function reelayRun(client: Client, workflowId: string) {
  const handle = client.workflow.getHandle(workflowId);
  const desc = await describeOrFail(client, handle);
  if (!(WORKFLOW_TYPES as readonly string[]).includes(desc.type)) {
    throw new DashboardError(404, 'Not a Reelay run', `${workflowId} is a ${desc.type} workflow, not a Reelay pipeline; the Temporal UI shows it.`);
  }
  return { handle, desc };
}

export async function runView(client: Client, workflowId: string): Promise<RunView | { batch: true }> {
  const { handle, desc } = await reelayRun(client, workflowId);
  if (desc.type === BATCH_TYPE) return { batch: true };
  const [report, timeline] = await Promise.all([statusReport(client, handle), stageTimeline(client, workflowId, desc.runId)]);
  return { report, timeline };
}

/**
 * Every stage the run has been through, with when it entered it: the ReelayStage upserts in its history
 * (search attributes are plaintext, so this reads the same with payload encryption on).
 */
export async function stageTimeline(client: Client, workflowId: string, runId: string): Promise<StageStep[]> {
  const steps: StageStep[] = [];
  try {
    const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
    for (const e of history.events ?? []) {
      const field = e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields?.[REELAY_STAGE.name];
      if (!field?.data) continue;
      const value = JSON.parse(Buffer.from(field.data).toString('utf8')) as unknown;
      const seconds = Number(e.eventTime?.seconds ?? 0);
      const nanos = Number(e.eventTime?.nanos ?? 0);
      if (typeof value === 'string' && value !== steps[steps.length - 1]?.stage) steps.push({ stage: value, at: new Date(seconds * 1000 + nanos / 1e6).toISOString() });
    }
  } catch {
    // A history we cannot read leaves the timeline empty; the stage itself is still shown.
  }
  return steps;
}

/** The delivered files of a completed run, for the player and the download links. */
export async function runOutputs(client: Client, workflowId: string): Promise<OutputFile[]> {
  const { handle, desc } = await reelayRun(client, workflowId);
  if (desc.status.name !== 'COMPLETED') throw new DashboardError(404, 'No outputs yet', `${workflowId} is ${desc.status.name.toLowerCase()}: outputs are served once it has completed.`);
  const outcome = await awaitOutcome(handle);
  return outputFiles(outcome.result);
}

export interface BatchView {
  batchId: string;
  status: string;
  startTime: string;
  closeTime?: string;
  summary?: string;
  progress?: BatchProgress;
  /** The server's own view when no worker answered the batchProgress query. */
  fromServer?: { stage?: string };
  result?: BatchPipelineResult;
  failure?: string;
}

export async function batchView(client: Client, batchId: string): Promise<BatchView> {
  const handle = client.workflow.getHandle(batchId);
  const desc = await describeOrFail(client, handle, 'batch');
  if (desc.type !== BATCH_TYPE) {
    throw new DashboardError(404, 'Not a batch', `${batchId} is a ${desc.type} run, not a batch. ${(WORKFLOW_TYPES as readonly string[]).includes(desc.type) ? 'Its run page shows it.' : ''}`.trim());
  }
  const running = desc.status.name === 'RUNNING';
  const [progress, summary] = await Promise.all([
    client.withDeadline(Date.now() + 3000, () => handle.query(batchProgressQuery)).catch(() => undefined),
    desc.staticSummary().catch(() => undefined),
  ]);
  const view: BatchView = { batchId, status: desc.status.name, startTime: desc.startTime.toISOString(), closeTime: desc.closeTime?.toISOString(), summary, progress };
  if (!progress) {
    let stage: string | undefined;
    try {
      stage = desc.typedSearchAttributes.get(REELAY_STAGE) ?? undefined;
    } catch {
      stage = undefined;
    }
    view.fromServer = { stage };
  }
  if (!running) {
    const outcome = await awaitOutcome(client.workflow.getHandle<(...args: unknown[]) => Promise<BatchPipelineResult>>(batchId)).catch(() => undefined);
    if (outcome?.status === 'COMPLETED') {
      view.result = outcome.result;
      if (outcome.result?.status === 'cancelled') view.status = 'CANCELLED';
    } else if (outcome?.failure) view.failure = outcome.failure;
  }
  return view;
}

