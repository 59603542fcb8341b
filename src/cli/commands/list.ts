import { UsageError, bool, num, oneOf, str, type CommandSpec, type Parsed } from '../args';
import { print, printJson, withClient } from '../context';
import { colorStatus, formatTable, formatTime, styler } from '../render';
import type { Client } from '@temporalio/client';
import { PIPELINES, PIPELINE_IDS, WORKFLOW_TYPES } from '../../pipelines/registry';

const STATUSES = ['running', 'completed', 'failed', 'cancelled', 'terminated', 'timed-out'] as const;
/** Visibility's names for them (ExecutionStatus). */
const EXECUTION_STATUS: Record<(typeof STATUSES)[number], string> = {
  running: 'Running',
  completed: 'Completed',
  failed: 'Failed',
  cancelled: 'Canceled',
  terminated: 'Terminated',
  'timed-out': 'TimedOut',
};

/** Every registered pipeline's workflow type, so pipelines added later are listed too. */
export const REELAY_WORKFLOW_TYPES: readonly string[] = WORKFLOW_TYPES;
const PROVIDERS = [...new Set(PIPELINE_IDS.map((id) => PIPELINES[id].provider))];

export const spec: CommandSpec = {
  name: 'list',
  summary: 'List Reelay pipelines, newest and running first.',
  usage: ['list [--provider P] [--status S] [--limit N] [--json]'],
  options: {
    provider: { type: 'string', value: 'P', description: `Only this provider (${PROVIDERS.join(', ')}), by the ReelayProvider search attribute` },
    status: { type: 'string', value: 'S', description: `Only this status: ${STATUSES.join(', ')}` },
    'task-queue': { type: 'string', value: 'QUEUE', description: 'Only workflows on this task queue' },
    limit: { type: 'string', value: 'N', description: 'At most N rows (default 20)' },
    json: { type: 'boolean', description: 'Print JSON' },
  },
  positionals: { min: 0, max: 0, names: '' },
};

const quote = (s: string) => `'${s.replace(/'/g, "\\'")}'`;

export type ListStatus = (typeof STATUSES)[number];
export const LIST_STATUSES: readonly ListStatus[] = STATUSES;
export const LIST_PROVIDERS: readonly string[] = PROVIDERS;

/**
 * The visibility query of Reelay runs: every registered workflow type, or one (`workflowType`), narrowed by
 * provider, status, task queue and a provider job id (the ReelayJobIds search attribute).
 */
export function listQuery(opts: { provider?: string; status?: ListStatus; taskQueue?: string; workflowType?: string; jobId?: string }): string {
  const types = opts.workflowType ? [opts.workflowType] : REELAY_WORKFLOW_TYPES;
  const parts = [`WorkflowType IN (${types.map(quote).join(', ')})`];
  if (opts.provider) parts.push(`ReelayProvider = ${quote(opts.provider)}`);
  if (opts.jobId) parts.push(`ReelayJobIds = ${quote(opts.jobId)}`);
  if (opts.status) parts.push(`ExecutionStatus = ${quote(EXECUTION_STATUS[opts.status])}`);
  if (opts.taskQueue) parts.push(`TaskQueue = ${quote(opts.taskQueue)}`);
  return parts.join(' AND ');
}

export async function run({ values }: Parsed): Promise<number> {
  const provider = str(values, 'provider');
  if (provider !== undefined && !/^[a-z0-9][a-z0-9_-]*$/i.test(provider)) throw new UsageError(`--provider: "${provider}" is not a provider id`);
  const status = oneOf(values, 'status', STATUSES);
  const limit = num(values, 'limit', { integer: true, min: 1 }) ?? 20;
  const query = listQuery({ provider, status, taskQueue: str(values, 'task-queue') });
  return withClient(async (client) => {
    const rows = await listRuns(client, query, limit);
    if (bool(values, 'json')) {
      printJson(rows);
      return 0;
    }
    if (!rows.length) {
      print('No Reelay workflows match.');
      return 0;
    }
    const st = styler(process.stdout);
    process.stdout.write(
      formatTable(
        ['WORKFLOW ID', 'TYPE', 'STATUS', 'STARTED', 'SUMMARY'],
        rows.map((r) => [r.workflowId, r.type, colorStatus(r.status, st), formatTime(new Date(r.startTime)), r.summary ?? '']),
      ),
    );
    return 0;
  });
}

export interface ListedRun {
  workflowId: string;
  runId: string;
  type: string;
  status: string;
  taskQueue: string;
  provider?: string;
  /** The ReelayStage and ReelayJobIds search attributes: what the server holds without asking a worker. */
  stage?: string;
  jobIds?: string[];
  startTime: string;
  closeTime?: string;
  summary?: string;
}

/**
 * The first `limit` runs a visibility query matches, newest first, each with its summary (from describe).
 * A run's summary never changes: a caller that lists again and again (the dashboard) passes a cache of them
 * by run id, and only new runs are described.
 */
export async function listRuns(client: Client, query: string, limit: number, summaries?: Map<string, string | undefined>): Promise<ListedRun[]> {
  const { REELAY_JOB_IDS, REELAY_PROVIDER, REELAY_STAGE } = await import('../../contract/search-attributes');
  // Search attributes of a workflow registered without them (or an older server) are simply absent.
  const attribute = <T>(read: () => T | undefined): T | undefined => {
    try {
      return read() ?? undefined;
    } catch {
      return undefined;
    }
  };
  const rows: ListedRun[] = [];
  for await (const info of client.workflow.list({ query, pageSize: Math.min(limit, 100) })) {
    const jobIds = attribute(() => info.typedSearchAttributes.get(REELAY_JOB_IDS));
    rows.push({
      workflowId: info.workflowId,
      runId: info.runId,
      type: info.type,
      status: info.status.name,
      taskQueue: info.taskQueue,
      provider: attribute(() => info.typedSearchAttributes.get(REELAY_PROVIDER)),
      stage: attribute(() => info.typedSearchAttributes.get(REELAY_STAGE)),
      ...(jobIds?.length ? { jobIds } : {}),
      startTime: info.startTime.toISOString(),
      closeTime: info.closeTime?.toISOString(),
    });
    if (rows.length >= limit) break;
  }
  // Listing does not return the summary given at start; describing each row does (in parallel).
  await Promise.all(
    rows.map(async (r) => {
      if (summaries?.has(r.runId)) {
        r.summary = summaries.get(r.runId);
        return;
      }
      let described = true;
      r.summary = await client.workflow
        .getHandle(r.workflowId, r.runId)
        .describe()
        .then((d) => d.staticSummary())
        .catch(() => ((described = false), undefined));
      if (described) summaries?.set(r.runId, r.summary);
    }),
  );
  return rows;
}
