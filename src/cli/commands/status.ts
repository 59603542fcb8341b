import type { Client, WorkflowHandle } from '@temporalio/client';
import { bool, num, type CommandSpec, type Parsed } from '../args';
import { print, printJson, withClient } from '../context';
import { outputFiles, resultFacts, type OutcomeInfo } from '../pipelines';
import { colorStatus, formatDuration, formatTime, progressBar, styler, type Outcome } from '../render';
import type { PipelineProgress } from '../../contract/progress';
import { printOutputs, describeOrFail } from './shared';
import { STILL_WAITING } from '../../contract/probes';

export const spec: CommandSpec = {
  name: 'status',
  summary: "Show a pipeline's status, stage, provider ids, recent log, and its outputs or failure.",
  usage: ['status <workflowId> [--json]'],
  options: {
    json: { type: 'boolean', description: 'Print JSON' },
    'log-lines': { type: 'string', value: 'N', description: 'How many log lines to show (default 5)' },
  },
  positionals: { min: 1, max: 1, names: 'the workflow id' },
  details: ['Exits 0 when the status could be read (whatever it is), 1 when the workflow is unknown.'],
};

export interface StatusReport {
  workflowId: string;
  runId: string;
  type: string;
  status: Outcome;
  taskQueue: string;
  provider?: string;
  summary?: string;
  startTime: string;
  closeTime?: string;
  uiUrl: string;
  progress?: PipelineProgress;
  /**
   * What the server itself holds of the progress (the ReelayStage and ReelayJobIds search attributes,
   * from describe): set when no worker answered the progress query in time, e.g. a worker busy with
   * thousands of waiting pipelines, so the stage is still shown within a second.
   */
  fromServer?: { stage?: string; jobIds?: string[] };
  outputs?: ReturnType<typeof outputFiles>;
  result?: unknown;
  failure?: string;
  failureType?: string;
  /** A partial failure's input for re-running only what failed (localize). */
  rerunInput?: unknown;
  leftAtProvider?: string[];
  /**
   * Activities the server is retrying, with the failure of their last attempt (a provider answer the
   * client could not use, a 5xx …): what a run that looks stuck is doing. Encrypted failures read as such.
   */
  retrying?: RetryingActivity[];
  /** Why the summary, result or failure could not be read: payloads encrypted with a key this client lacks. */
  unreadable?: string;
}

export interface RetryingActivity {
  activity: string;
  attempt: number;
  lastFailure: string;
  nextAttemptAt?: string;
}

type PendingActivities = Awaited<ReturnType<WorkflowHandle['describe']>>['raw']['pendingActivities'];

/** Pending activities past their first attempt, with what their last attempt failed with. */
export function retryingActivities(pending: PendingActivities): RetryingActivity[] {
  const out: RetryingActivity[] = [];
  for (const a of pending ?? []) {
    const attempt = a.attempt ?? 1;
    if (attempt < 2 || !a.lastFailure) continue;
    // A wait whose last attempt found the job unchanged is waiting, not retrying (src/activities/wait.ts).
    if (a.lastFailure.applicationFailureInfo?.type === STILL_WAITING) continue;
    const messages: string[] = [];
    type Failure = NonNullable<typeof a.lastFailure>;
    for (let f: Failure | null | undefined = a.lastFailure, depth = 0; f && depth < 5; f = f.cause, depth++) if (f.message) messages.push(f.message);
    const next = a.nextAttemptScheduleTime?.seconds;
    out.push({
      activity: a.activityType?.name ?? 'activity',
      attempt,
      lastFailure: messages.join(' — ') || 'failed',
      ...(next ? { nextAttemptAt: new Date(Number(next) * 1000).toISOString() } : {}),
    });
  }
  return out;
}

/** Describe + progress query (+ the result or failure when closed). */
export async function statusReport(client: Client, handle: WorkflowHandle): Promise<StatusReport> {
  const { REELAY_JOB_IDS, REELAY_PROVIDER, REELAY_STAGE } = await import('../../contract/search-attributes');
  const { temporalUiUrl, workflowUiLink } = await import('../../config');
  const { awaitOutcome, queryProgress } = await import('../pipelines');
  const desc = await describeOrFail(client, handle);
  const status = desc.status.name as Outcome;
  let unreadable: string | undefined;
  // A payload encrypted with a key we lack is worth saying; other read failures leave the field out.
  const undecodable = (err: unknown) => {
    if ((err as Error)?.name === 'PayloadDecryptionError') unreadable ??= `${(err as Error).message}; the rest of this report is what Temporal shows in plaintext`;
    return undefined;
  };
  const [progress, summary, outcome] = await Promise.all([
    queryProgress(client, handle, 3000),
    desc.staticSummary().catch(undecodable),
    status === 'RUNNING' ? Promise.resolve<OutcomeInfo | undefined>(undefined) : awaitOutcome(handle).catch(undecodable),
  ]);
  // Search attributes of a workflow registered without them (or an older server) are simply absent.
  const attribute = <T>(read: () => T | undefined): T | undefined => {
    try {
      return read() ?? undefined;
    } catch {
      return undefined;
    }
  };
  const provider = attribute(() => desc.typedSearchAttributes.get(REELAY_PROVIDER));
  const retrying = status === 'RUNNING' ? retryingActivities(desc.raw.pendingActivities) : [];
  const fromServer =
    progress === undefined
      ? { stage: attribute(() => desc.typedSearchAttributes.get(REELAY_STAGE)), jobIds: attribute(() => desc.typedSearchAttributes.get(REELAY_JOB_IDS)) }
      : undefined;
  return {
    workflowId: desc.workflowId,
    runId: desc.runId,
    type: desc.type,
    status,
    taskQueue: desc.taskQueue,
    provider: provider ?? progress?.provider,
    summary,
    startTime: desc.startTime.toISOString(),
    closeTime: desc.closeTime?.toISOString(),
    uiUrl: workflowUiLink({ uiUrl: temporalUiUrl(), namespace: client.options.namespace }, desc.workflowId, desc.runId),
    progress,
    ...(fromServer && (fromServer.stage || fromServer.jobIds?.length) ? { fromServer } : {}),
    ...(outcome?.status === 'COMPLETED' ? { outputs: outputFiles(outcome.result), result: outcome.result } : {}),
    ...(outcome?.failure && outcome.status !== 'COMPLETED' ? { failure: outcome.failure } : {}),
    ...(outcome?.failureType ? { failureType: outcome.failureType } : {}),
    ...(outcome?.rerunInput !== undefined ? { rerunInput: outcome.rerunInput } : {}),
    ...(progress?.leftAtProvider ? { leftAtProvider: progress.leftAtProvider } : {}),
    ...(retrying.length ? { retrying } : {}),
    ...(unreadable ? { unreadable } : {}),
  };
}

export function printStatus(r: StatusReport, logLines: number): void {
  const st = styler(process.stdout);
  const ran = formatDuration((r.closeTime ? Date.parse(r.closeTime) : Date.now()) - Date.parse(r.startTime));
  const row = (k: string, v: string) => print(`  ${(k + ':').padEnd(11)}${v}`);
  print(`${st.bold(r.workflowId)}  ${colorStatus(r.status, st)}`);
  if (r.summary) row('Summary', r.summary);
  row('Type', `${r.type} on task queue ${r.taskQueue}${r.provider ? `, provider ${r.provider}` : ''}`);
  row('Started', `${formatTime(new Date(r.startTime))} (${r.closeTime ? 'ran' : 'running for'} ${ran})`);
  const p = r.progress;
  if (p) {
    const percent = r.status === 'COMPLETED' ? 100 : p.percent;
    row('Stage', `${p.stage}  ${progressBar(percent, 20)} ${percent}%`);
    const ids = Object.entries(p.providerIds);
    if (ids.length) row('Provider', ids.map(([k, v]) => `${k}=${v}`).join(', '));
    const log = p.log.slice(-logLines);
    if (log.length) {
      print('  Log:');
      for (const l of log) print(`    ${st.dim(formatTime(new Date(l.at)).slice(11))} ${l.message}`);
    }
  } else if (r.fromServer) {
    if (r.fromServer.stage) row('Stage', `${r.fromServer.stage}  ${st.dim('(from the server; no worker answered the progress query within 3 s)')}`);
    if (r.fromServer.jobIds?.length) row('Provider', r.fromServer.jobIds.join(', '));
  } else {
    row('Progress', st.dim('not available (no worker answered the progress query)'));
  }
  for (const a of r.retrying ?? []) {
    const next = a.nextAttemptAt ? `, next attempt ${formatTime(new Date(a.nextAttemptAt)).slice(11)}` : '';
    row('Retrying', `${a.activity} (attempt ${a.attempt}${next}): ${a.lastFailure}`);
  }
  const facts = resultFacts(r.result);
  if (facts.length) row('Result', facts.map(([k, v]) => `${k}=${v}`).join(', '));
  if (r.outputs?.length) {
    print('  Outputs:');
    printOutputs(r.outputs, '    ');
    const from = r.outputs.filter((o) => o.providerUrl);
    if (from.length === 1) print(`    ${st.dim(`served by the provider at ${from[0]!.providerUrl}`)}`);
    if (r.outputs.some((o) => o.uri)) print(`    ${st.dim(`links to the stored outputs: reelay output url ${r.workflowId} --expires 1h`)}`);
  }
  if (r.failure) row('Failure', r.failure);
  if (r.leftAtProvider) row('Left', r.leftAtProvider.length ? `at the provider: ${r.leftAtProvider.join('; ')}` : 'nothing at the provider');
  if (r.unreadable) row('Encrypted', r.unreadable);
  row('UI', r.uiUrl);
}

export async function run({ values, positionals }: Parsed): Promise<number> {
  const logLines = num(values, 'log-lines', { integer: true, min: 0 }) ?? 5;
  return withClient(async (client) => {
    const report = await statusReport(client, client.workflow.getHandle(positionals[0]!));
    if (bool(values, 'json')) printJson(report);
    else printStatus(report, logLines);
    return 0;
  });
}
