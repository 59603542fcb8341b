import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { WorkflowIdReusePolicy, type Client, type WorkflowHandle } from '@temporalio/client';
import { InputError, inputFileFields, storedInputProblems, validateKey } from '../../client';
import { startInput } from '../../client/history';
import { ConfigError, loadStorageConfig, taskQueue as defaultTaskQueue } from '../../config';
import type { StorageSettings } from '../../storage/config';
import { StoreError } from '../../storage/errors';
import { s3Uri } from '../../storage/location';
import type { Store } from '../../storage/s3';
import { describeZodError } from '../../contract/common';
import { definedClaim, temporalPriority } from '../../contract/slot-order';
import { PIPELINES, pipelineWorkflowId } from '../registry';
import type { batchPipeline } from './workflow';
import { BatchPipelineInput, type BatchResultRecord } from './input';
import { REELAY_PROVIDER } from '../../contract/search-attributes';
import { ManifestError, loadManifest } from './manifest';
import { loadBatchResults, parseResults, storeFor, writeBatchManifest, type BatchOutput } from './records';
import type { NotifyInput } from '../../contract/notify';

export interface BatchStartOptions {
  /** The batch id is `batch-<key>`; defaults to the manifest's name plus a random part. */
  key?: string;
  window?: number;
  itemsPerRun?: number;
  taskQueue?: string;
  /**
   * Output root shared with the workers (a local directory); the normalized manifest is written under it.
   * Unset: the configured output location (`storage`, else REELAY_OUTPUT_URL / REELAY_OUTPUT_DIR and
   * REELAY_S3_* from the environment): with an `s3://` one, the manifest goes to the store and the
   * workers need share no disk with the starter.
   */
  outputRoot?: string;
  /** Storage settings already loaded (loadConfig(...).storage); read from the environment when unset. */
  storage?: StorageSettings;
  /** The store client to write an `s3://` manifest with (default: one built from the settings, credentials from the AWS SDK chain). */
  store?: Store;
  /** Start even when the cost guard finds a balance short. */
  allowOverBudget?: boolean;
  /** A signed webhook once the whole batch ends (docs/webhooks.md); a line's input may ask for its own. */
  notify?: NotifyInput;
  /** The items' priority (1 highest to 5 lowest) where a line sets none; also the batch run's own task priority. */
  priority?: number;
  /** The items' caller (fairness key) where a line sets none. */
  caller?: string;
}

export interface BatchStarted {
  batchId: string;
  runId: string;
  total: number;
  manifestPath: string;
  handle: WorkflowHandle<typeof batchPipeline>;
}

/** The batch's own settings a starter may choose, with the workflow input's limits. */
const BatchOptions = BatchPipelineInput.pick({ window: true, itemsPerRun: true, notify: true, priority: true, caller: true });

function slug(text: string): string {
  return text.toLowerCase().replace(/\.[a-z0-9]+$/, '').replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 40) || 'batch';
}

/** Where a starter writes: `outputRoot` when given, else the configured output location. */
function batchOutput(opts: BatchStartOptions): BatchOutput {
  if (opts.outputRoot !== undefined) return { kind: 'local', root: path.resolve(opts.outputRoot) };
  const storage = opts.storage ?? loadStorageConfig();
  if (storage.output.kind === 'local') return { kind: 'local', root: storage.output.path };
  return { kind: 's3', base: storage.output, store: opts.store ?? storeFor(storage.s3) };
}

/**
 * A store that will not take the manifest is a configuration problem the starter can name: no bucket,
 * no or refused credentials, a denied write (ConfigError, naming the variable). A store that is down or
 * slow stays a StoreError (try again later).
 */
function storeRefusal(err: unknown, storage: StorageSettings): unknown {
  if (!(err instanceof StoreError) || err.retryable) return err;
  const where = storage.output.kind === 's3' ? s3Uri(storage.output) : storage.output.path;
  return new ConfigError([`${storage.outputVar}=${where}: ${err.message}; nothing was started`]);
}

/**
 * Validate every line of a manifest (throws ManifestError listing them all, before anything starts),
 * write the normalized copy to `<outputRoot>/<batchId>/manifest.jsonl`, and start the batch workflow.
 */
export async function startBatch(client: Client, manifestFile: string, opts: BatchStartOptions = {}): Promise<BatchStarted> {
  // The options are checked before the manifest is read or its normalized copy written.
  if (opts.key !== undefined) validateKey(opts.key);
  const options = BatchOptions.safeParse({ window: opts.window, itemsPerRun: opts.itemsPerRun, notify: opts.notify, priority: opts.priority, caller: opts.caller });
  if (!options.success) throw new InputError(describeZodError(options.error).split('; '));
  const key = opts.key ?? `${slug(path.basename(manifestFile))}-${randomUUID().slice(0, 8)}`;
  const batchId = pipelineWorkflowId('batch', key);
  const output = batchOutput(opts);
  const entries = loadManifest(manifestFile, { outputSubdirFor: (line) => `${batchId}/items/${line}` });
  // Inputs in the object store that do not exist are bad lines too, found before anything is written.
  const problems = [];
  for (const e of entries) {
    const missing = await storedInputProblems(inputFileFields(e.pipeline, e.input), { storage: opts.storage, store: opts.store });
    if (missing.length) problems.push({ line: e.line, reason: missing.join('; ') });
  }
  if (problems.length) throw new ManifestError(manifestFile, problems);
  const manifestPath = await writeBatchManifest(output, batchId, entries).catch((err: unknown) => {
    throw storeRefusal(err, opts.storage ?? loadStorageConfig());
  });
  const input: BatchPipelineInput = BatchPipelineInput.parse({
    manifestPath,
    total: entries.length,
    ...(opts.window !== undefined ? { window: opts.window } : {}),
    ...(opts.itemsPerRun !== undefined ? { itemsPerRun: opts.itemsPerRun } : {}),
    ...(opts.allowOverBudget ? { allowOverBudget: true } : {}),
    ...(opts.notify !== undefined ? { notify: opts.notify } : {}),
    ...definedClaim(options.data),
  });
  const handle = await client.workflow.start<typeof batchPipeline>(PIPELINES.batch.workflowType, {
    workflowId: batchId,
    taskQueue: opts.taskQueue ?? defaultTaskQueue(),
    args: [input],
    ...temporalPriority(options.data),
    staticSummary: `Batch: ${path.basename(manifestFile)} (${entries.length} items)`,
    typedSearchAttributes: [{ key: REELAY_PROVIDER, value: PIPELINES.batch.provider }],
    workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
  });
  return { batchId, runId: handle.firstExecutionRunId, total: entries.length, manifestPath, handle };
}

/**
 * Re-run only the failed lines of a finished batch, as a new batch `<batchId>-retry-<n>` over the same
 * manifest whose results are appended to the original's results.jsonl (the last record of a line wins).
 */
export async function retryFailed(
  client: Client,
  batchId: string,
  opts: Pick<BatchStartOptions, 'window' | 'taskQueue'> = {},
): Promise<BatchStarted | { batchId: string; total: 0 }> {
  const handle = client.workflow.getHandle<typeof batchPipeline>(batchId);
  const desc = await handle.describe();
  if (desc.status.name === 'RUNNING') throw new Error(`batch ${batchId} is still running; retry its failed lines once it has finished`);
  const result = await handle.result();
  if (!result.failedLines.length) return { batchId, total: 0 };
  // The batch's first input, decoded like any payload (a plain JSON read would see ciphertext when payloads are encrypted).
  const firstInput = (await startInput(client, batchId)) as BatchPipelineInput | undefined;
  // An original batch writes under its own id; a retry carries the original's subdir.
  const outputSubdir = firstInput?.outputSubdir ?? batchId;
  const root = batchId.replace(/-retry-\d+$/, '');
  let n = 1;
  for (; ; n++) {
    try {
      await client.workflow.getHandle(`${root}-retry-${n}`).describe();
    } catch {
      break;
    }
  }
  const retryId = `${root}-retry-${n}`;
  const input: BatchPipelineInput = {
    manifestPath: result.manifestPath,
    total: result.failedLines.length,
    onlyLines: result.failedLines,
    outputSubdir,
    ...(opts.window !== undefined ? { window: opts.window } : firstInput?.window ? { window: firstInput.window } : {}),
    ...(firstInput?.itemsPerRun ? { itemsPerRun: firstInput.itemsPerRun } : {}),
  };
  const started = await client.workflow.start<typeof batchPipeline>(PIPELINES.batch.workflowType, {
    workflowId: retryId,
    taskQueue: opts.taskQueue ?? desc.taskQueue,
    args: [input],
    staticSummary: `Retry of the ${result.failedLines.length} failed line(s) of ${batchId}`,
    typedSearchAttributes: [{ key: REELAY_PROVIDER, value: PIPELINES.batch.provider }],
    workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
  });
  return { batchId: retryId, runId: started.firstExecutionRunId, total: result.failedLines.length, manifestPath: result.manifestPath, handle: started };
}

/** A local results.jsonl as one record per line (the last written wins), in line order. */
export function readResults(resultsPath: string): BatchResultRecord[] {
  return parseResults(fs.readFileSync(resultsPath, 'utf8'));
}

/**
 * A batch's results, one record per line in line order, wherever they are: a local results.jsonl, or an
 * `s3://…/results.jsonl` whose per-line objects are read from the store (every finished line, even while
 * the batch runs), from any machine with access to it.
 */
export async function readBatchResults(resultsPath: string, opts: { storage?: StorageSettings; store?: Store } = {}): Promise<BatchResultRecord[]> {
  if (!/^s3:\/\//i.test(resultsPath)) return readResults(resultsPath);
  return loadBatchResults(resultsPath, opts.store ?? storeFor((opts.storage ?? loadStorageConfig()).s3));
}
