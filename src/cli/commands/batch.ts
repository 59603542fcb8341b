import type { Client, WorkflowHandle } from '@temporalio/client';
import type { BatchPipelineResult, BatchProgress } from '../../pipelines/batch/input';
import type { batchPipeline } from '../../pipelines/batch/workflow';
import { CliError, UsageError, bool, num, str, type CommandSpec, type Parsed } from '../args';
import { cliConfig, note, print, printJson, withClient } from '../context';
import { describeOrFail } from './shared';
import { formatDuration, progressBar, styler } from '../render';

const SUBCOMMANDS = ['run', 'status', 'results', 'watch', 'pause', 'resume', 'cancel', 'retry-failed'] as const;
type Sub = (typeof SUBCOMMANDS)[number];

export const spec: CommandSpec = {
  name: 'batch',
  summary: 'Run a manifest (JSONL or CSV) as one durable batch; follow, pause, resume, cancel, retry its failures.',
  usage: [
    'batch run <manifest.jsonl|manifest.csv> [--window N] [--key K] [--priority N] [--caller NAME] [--allow-over-budget] [--watch] [--json]',
    'batch status <batchId> [--json]',
    'batch results <batchId> [--failed] [--json]',
    'batch watch <batchId> [--json]',
    'batch pause|resume|cancel <batchId> [--json]',
    'batch retry-failed <batchId> [--window N] [--watch] [--json]',
  ],
  options: {
    window: { type: 'string', value: 'N', description: 'How many items run at once (default 20, at most 500)' },
    'allow-over-budget': {
      type: 'boolean',
      description: 'Start even when the cost guard finds a provider balance short of the estimate (DubLab credits, Vivid Flow credits)',
    },
    priority: { type: 'string', value: 'N', description: "The items' priority where a line's input sets none: 1 (highest) to 5 (lowest); default 3" },
    caller: { type: 'string', value: 'NAME', description: "The items' caller (fairness key) where a line's input sets none" },
    key: { type: 'string', value: 'K', description: 'Batch id suffix: the batch is batch-<K> (default: manifest name + random)' },
    'items-per-run': { type: 'string', value: 'N', description: 'Completions per run before continue-as-new (default 500)' },
    watch: { type: 'boolean', description: 'After starting, show live progress until the batch ends' },
    interval: { type: 'string', value: 'SECONDS', description: 'Seconds between progress queries when watching (default 1)' },
    json: { type: 'boolean', description: 'Print JSON (progress lines go to stderr when watching)' },
    failed: { type: 'boolean', description: 'results: only the lines that failed or were cancelled' },
  },
  positionals: { min: 2, max: 2, names: 'a subcommand and its manifest or batch id' },
  details: [
    'Manifest, JSONL: one {"pipeline":"text2video","input":{...},"key":"optional"} per line ("#" lines and',
    'blank lines are skipped). CSV: a header naming pipeline,input[,key] with input a JSON object in one quoted',
    'cell. Every line is validated first; any bad line is reported with its number and reason, exit 2, and',
    'nothing starts. Relative file paths are resolved against the manifest\'s directory.',
    'Results: <REELAY_OUTPUT_DIR>/<batchId>/results.jsonl, one record per finished line (the last record of a',
    'line wins); item outputs under <batchId>/items/<line>/. retry-failed starts <batchId>-retry-<n> over the',
    'failed lines only and appends to the same results.jsonl.',
    'With REELAY_OUTPUT_URL=s3://bucket/prefix the normalized manifest, one result object per line',
    '(<batchId>/results/<line>.json) and results.jsonl (rendered when the batch ends) live in the store, and',
    'run, status, results and retry-failed work from any machine that can reach it and Temporal.',
    '`batch results` prints every finished line (from the store while the batch still runs).',
    'Exit status: run/retry-failed 0 when started (with --watch: 0 only when every item completed); status 0;',
    'watch 0 when the batch completed with no failed item, 1 otherwise; 2 for a bad manifest.',
  ],
};

function finished(p: BatchProgress): number {
  return p.done + p.failed + p.cancelled;
}

export function progressLine(p: BatchProgress): string {
  const percent = p.total ? (finished(p) / p.total) * 100 : 100;
  const eta = p.etaSeconds === null ? '?' : formatDuration(p.etaSeconds * 1000);
  return (
    `${progressBar(percent, 24)} ${Math.floor(percent)}% ${finished(p)}/${p.total}  ` +
    `done ${p.done}  failed ${p.failed}${p.cancelled ? `  cancelled ${p.cancelled}` : ''}  running ${p.running}  queued ${p.queued}  ` +
    `${p.ratePerMinute}/min  ETA ${eta}${p.paused ? '  PAUSED' : ''}${p.status === 'cancelling' ? '  CANCELLING' : ''}`
  );
}

async function queryBatch(client: Client, handle: WorkflowHandle): Promise<BatchProgress | undefined> {
  const { batchProgressQuery } = await import('../../pipelines/batch/signals');
  try {
    return await client.withDeadline(Date.now() + 4000, () => handle.query(batchProgressQuery));
  } catch {
    return undefined;
  }
}

interface BatchReport {
  batchId: string;
  status: string;
  progress?: BatchProgress;
  result?: BatchPipelineResult;
  failure?: string;
}

type BatchHandle = WorkflowHandle<typeof batchPipeline>;

async function report(client: Client, handle: BatchHandle): Promise<BatchReport> {
  const desc = await describeOrFail(client, handle, 'batch');
  const status = desc.status.name;
  const progress = await queryBatch(client, handle);
  if (status === 'RUNNING' || status === 'CONTINUED_AS_NEW') return { batchId: handle.workflowId, status: 'RUNNING', progress };
  const { awaitOutcome } = await import('../pipelines');
  const outcome = await awaitOutcome(handle);
  return {
    batchId: handle.workflowId,
    status: outcome.status === 'COMPLETED' ? (outcome.result?.status === 'cancelled' ? 'CANCELLED' : 'COMPLETED') : outcome.status,
    progress,
    ...(outcome.status === 'COMPLETED' ? { result: outcome.result } : { failure: outcome.failure }),
  };
}

function printReport(r: BatchReport): void {
  const st = styler(process.stdout);
  print(`${st.bold(r.batchId)}  ${r.status}`);
  if (r.progress) print(`  ${progressLine(r.progress)}`);
  else if (!r.result) print(`  ${st.dim('progress not available (no worker answered the query)')}`);
  for (const e of r.progress?.recentErrors ?? []) print(`  ${st.red('failed')} ${e}`);
  if (r.result) {
    const x = r.result;
    print(`  ${x.succeeded} completed, ${x.failed} failed, ${x.cancelled} cancelled, ${x.notStarted} not started, in ${x.runs} run(s)`);
    if (x.failedLines.length) print(`  Failed lines: ${x.failedLines.slice(0, 50).join(', ')}${x.failedLines.length > 50 ? ', …' : ''}  (reelay batch retry-failed ${x.batchId})`);
    if (x.resultsPath) print(`  Results: ${x.resultsPath}`);
    if (x.resultsPath && !x.resultsPath.startsWith('/')) print(`  Read them from here with: reelay batch results ${x.batchId}`);
  }
  if (r.failure) print(`  ${st.red('Failure:')} ${r.failure}`);
}

/** Query progress every interval until the batch closes; a TTY redraws one line, otherwise a line per change. */
async function watch(client: Client, handle: BatchHandle, intervalMs: number, json: boolean): Promise<BatchReport> {
  const out = json ? process.stderr : process.stdout;
  let last = '';
  for (;;) {
    const desc = await describeOrFail(client, handle, 'batch');
    if (desc.status.name !== 'RUNNING') break;
    const p = await queryBatch(client, handle);
    const line = p ? progressLine(p) : 'waiting for a worker to answer…';
    if (out.isTTY) out.write(`\r\x1b[2K${line}`);
    else if (line !== last) out.write(line + '\n');
    last = line;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  if (out.isTTY) out.write('\n');
  return report(client, handle);
}

/**
 * Every finished line of a batch, read from where its results are: the file or, in an object store, the
 * result objects (no access to a worker's disk needed). A running batch names its results in its
 * progress; a closed one in its result.
 */
async function printResults(client: Client, handle: BatchHandle, opts: { json: boolean; failedOnly: boolean }): Promise<number> {
  const r = await report(client, handle);
  const resultsPath = r.result?.resultsPath ?? r.progress?.resultsPath;
  if (!resultsPath) throw new CliError(`${handle.workflowId} has no results yet${r.status === 'RUNNING' && !r.progress ? ' (or no worker answered the progress query)' : ''}`);
  const { readBatchResults } = await import('../../pipelines/batch/start');
  let records = await readBatchResults(resultsPath, { storage: (await cliConfig()).storage });
  if (opts.failedOnly) records = records.filter((x) => x.status !== 'completed');
  if (opts.json) {
    printJson({ batchId: handle.workflowId, status: r.status, resultsPath, records });
    return 0;
  }
  const st = styler(process.stdout);
  print(`${st.bold(handle.workflowId)}  ${r.status}  ${records.length} line(s)  from ${resultsPath}`);
  for (const x of records) {
    const what = x.status === 'completed' ? resultSummary(x.result) : `${x.error?.type ? `${x.error.type}: ` : ''}${x.error?.message ?? ''}`;
    print(`  line ${String(x.line).padEnd(5)} ${x.status === 'completed' ? st.green(x.status) : st.red(x.status)}  ${x.workflowId}  ${what}`);
  }
  return 0;
}

/** The outputs of an item's result, by where they went (`uri` in a store, else `path`). */
function resultSummary(result: unknown): string {
  const refs: string[] = [];
  const walk = (v: unknown, depth: number) => {
    if (!v || typeof v !== 'object' || depth > 5) return;
    const o = v as Record<string, unknown>;
    const ref = typeof o.uri === 'string' ? o.uri : typeof o.path === 'string' && typeof o.sha256 === 'string' ? o.path : undefined;
    if (ref) refs.push(ref);
    else for (const x of Object.values(o)) walk(x, depth + 1);
  };
  walk(result, 0);
  return refs.join(', ');
}

function exitFor(r: BatchReport): number {
  return r.status === 'COMPLETED' && r.result?.failed === 0 ? 0 : 1;
}

export async function run({ values, positionals }: Parsed): Promise<number> {
  const sub = positionals[0] as Sub;
  if (!(SUBCOMMANDS as readonly string[]).includes(sub)) throw new UsageError(`unknown batch subcommand "${sub}" (one of: ${SUBCOMMANDS.join(', ')})`);
  const target = positionals[1]!;
  const json = bool(values, 'json');
  const window = num(values, 'window', { integer: true, min: 1 });
  if (window !== undefined && window > 500) throw new UsageError('--window: must be at most 500');
  const itemsPerRun = num(values, 'items-per-run', { integer: true, min: 1 });
  const intervalMs = (num(values, 'interval', { min: 0.1 }) ?? 1) * 1000;
  const key = str(values, 'key');
  if (key !== undefined && !/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/.test(key)) throw new UsageError('--key: letters, digits, ".", "_" or "-", starting with a letter or digit');

  if (sub === 'run') {
    // Validate before connecting: a bad manifest is reported even when Temporal is down.
    const { loadManifest, ManifestError, formatProblem } = await import('../../pipelines/batch/manifest');
    try {
      loadManifest(target);
    } catch (err) {
      if (!(err instanceof ManifestError)) throw err;
      if (json) printJson({ manifest: target, valid: false, problems: err.problems });
      else {
        const lines = err.problems.filter((p) => p.line > 0).length;
        note(`reelay batch: ${target}: ${lines ? `${lines} bad line(s)` : 'bad manifest'}; nothing was started:`);
        for (const p of err.problems) note(`  ${formatProblem(p)}`);
      }
      return 2;
    }
  }

  return withClient(async (client) => {
    const { startBatch, retryFailed } = await import('../../pipelines/batch/start');
    const { taskQueue } = await import('../../config');
    if (sub === 'run' || sub === 'retry-failed') {
      const { ManifestError, formatProblem } = await import('../../pipelines/batch/manifest');
      const refused = (err: unknown) => {
        // Lines the starter could only check against the store (an s3:// input that does not exist).
        if (!(err instanceof ManifestError)) throw err;
        if (json) printJson({ manifest: target, valid: false, problems: err.problems });
        else {
          note(`reelay batch: ${target}: ${err.problems.length} bad line(s); nothing was started:`);
          for (const p of err.problems) note(`  ${formatProblem(p)}`);
        }
        return undefined;
      };
      const started =
        sub === 'run'
          ? await startBatch(client, target, { key, window, itemsPerRun, priority: num(values, 'priority'), caller: str(values, 'caller'), taskQueue: taskQueue(), allowOverBudget: bool(values, 'allow-over-budget'), storage: (await cliConfig()).storage }).catch(refused)
          : await retryFailed(client, target, { window }).catch((err: Error) => {
              throw new CliError(err.message);
            });
      if (!started) return 2;
      if (!('handle' in started)) {
        if (json) printJson({ batchId: target, retried: 0 });
        else print(`${target} has no failed lines; nothing to retry.`);
        return 0;
      }
      if (!bool(values, 'watch')) {
        if (json) printJson({ batchId: started.batchId, runId: started.runId, total: started.total, manifestPath: started.manifestPath });
        else print(`Started ${started.batchId}: ${started.total} item(s). Follow it with: reelay batch watch ${started.batchId}`);
        return 0;
      }
      if (!json) print(`Started ${started.batchId}: ${started.total} item(s)`);
      const r = await watch(client, client.workflow.getHandle<typeof batchPipeline>(started.batchId), intervalMs, json);
      if (json) printJson(r);
      else printReport(r);
      return exitFor(r);
    }
    const handle = client.workflow.getHandle<typeof batchPipeline>(target);
    if (sub === 'status') {
      const r = await report(client, handle);
      if (json) printJson(r);
      else printReport(r);
      return 0;
    }
    if (sub === 'results') return printResults(client, handle, { json, failedOnly: bool(values, 'failed') });
    if (sub === 'watch') {
      const r = await watch(client, handle, intervalMs, json);
      if (json) printJson(r);
      else printReport(r);
      return exitFor(r);
    }
    const desc = await describeOrFail(client, handle, 'batch');
    if (desc.status.name !== 'RUNNING') throw new CliError(`${target} is not running (it is ${desc.status.name})`);
    const { pauseSignal, resumeSignal, cancelBatchSignal } = await import('../../pipelines/batch/signals');
    await handle.signal(sub === 'pause' ? pauseSignal : sub === 'resume' ? resumeSignal : cancelBatchSignal);
    if (json) printJson({ batchId: target, signal: sub });
    else print(sub === 'cancel' ? `Cancel sent to ${target}: no new items start, running ones are cancelled.` : `${sub === 'pause' ? 'Paused' : 'Resumed'} ${target}.`);
    return 0;
  });
}
