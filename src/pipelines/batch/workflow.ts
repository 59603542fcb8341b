import {
  ApplicationFailure,
  CancellationScope,
  ParentClosePolicy,
  allHandlersFinished,
  condition,
  continueAsNew,
  isCancellation,
  log,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  startChild,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../../activities';
import { PIPELINES, isBatchItemPipeline } from '../registry';
import type {
  BatchPipelineInput,
  BatchItemStatus,
  BatchPipelineResult,
  BatchProgress,
  BatchResultRecord,
  BatchState,
  ManifestPageItem,
} from './input';
import { isS3Ref } from '../../storage/location';
import { definedClaim, temporalPriority } from '../../contract/slot-order';
import type { SlotClaim } from '../../contract/limiter';
import { failureInfo } from '../../workflows/shared/failure';
import { validatedInput } from '../../workflows/shared/input';
import { progressQuery, type PipelineProgress } from '../../workflows/shared/progress';
import { REELAY_PROVIDER, REELAY_STAGE } from '../../contract/search-attributes';
import { batchChildWorkflowId, batchProgressQuery, cancelBatchSignal, pauseSignal, resumeSignal } from './signals';

/**
 * Bookkeeping calls read and write small files (local, or objects in a store); they are retried until they succeed (a full disk
 * should stall the batch, not lose results), with the backoff capped at a minute.
 */
const bookkeeping = proxyActivities<Activities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

const RECENT_ERRORS_KEPT = 10;
/** Results are appended in one activity once this many are pending (or whenever the loop wakes with some). */
const MIN_PAGE_ITEMS = 100;

/**
 * Run a manifest as one durable batch: a sliding window of child workflows (one per line, by the line's
 * pipeline type), refilled as they finish. Results go to results.jsonl through an activity; the run keeps
 * only counts and failed line numbers. After `itemsPerRun` completions (or when the server suggests it)
 * the run stops starting, drains its window, and continues as new, so every run's history is bounded.
 *
 * Draining before continue-as-new keeps ownership simple: a child belongs to exactly one run, and its
 * completion is recorded by the run that started it. The cost is a short dip in concurrency at each roll.
 */
export async function batchPipeline(rawInput: BatchPipelineInput): Promise<BatchPipelineResult> {
  // Answered from the first workflow task, before validateInput answers (then the real counts take over):
  // a client that asks right after the start gets a batch starting, not "no handler for batchProgress".
  const first = workflowInfo();
  const declaredTotal = (rawInput as { total?: unknown } | null | undefined)?.total;
  const startingTotal = typeof declaredTotal === 'number' && Number.isFinite(declaredTotal) ? declaredTotal : 0;
  setHandler(batchProgressQuery, () => ({
    batchId: first.workflowId,
    status: 'running' as const,
    total: startingTotal,
    done: 0,
    failed: 0,
    cancelled: 0,
    running: 0,
    queued: startingTotal,
    paused: false,
    ratePerMinute: 0,
    etaSeconds: null,
    startedAt: first.startTime.toISOString(),
    run: 1,
    recentErrors: [],
  }));
  const input = await validatedInput('batchPipeline', rawInput, () => (require('./input') as typeof import('./input')).BatchPipelineInput);
  const batchClaim = definedClaim(input);
  const { workflowId: batchId } = workflowInfo();
  const outputSubdir = input.outputSubdir ?? batchId;
  let { manifestPath, total } = input;
  const state: BatchState = input.state ?? {
    nextOffset: 0,
    counts: { succeeded: 0, failed: 0, cancelled: 0 },
    failedLines: [],
    startedAt: new Date().toISOString(),
    paused: false,
    runs: 0,
  };
  upsertSearchAttributes([
    { key: REELAY_PROVIDER, value: PIPELINES.batch.provider },
    { key: REELAY_STAGE, value: state.paused ? 'paused' : 'running' },
  ]);

  const running = new Map<number, string>();
  const finished: BatchResultRecord[] = [];
  const recentErrors: string[] = [];
  let queue: ManifestPageItem[] = [];
  let readOffset = state.nextOffset;
  let eof = false;
  let finishedThisRun = 0;
  let cancelRequested = false;
  let wakeups = 0;
  let stage = state.paused ? 'paused' : 'running';
  const children = new CancellationScope();

  let closed: 'completed' | 'cancelled' | undefined;
  const status = (): BatchProgress['status'] => closed ?? (cancelRequested ? 'cancelling' : state.paused ? 'paused' : 'running');
  const progress = (): BatchProgress => {
    const { succeeded, failed, cancelled } = state.counts;
    const finishedAll = succeeded + failed + cancelled;
    const minutes = (Date.now() - Date.parse(state.startedAt)) / 60_000;
    const ratePerMinute = minutes > 0 ? finishedAll / minutes : 0;
    const queued = Math.max(0, total - finishedAll - running.size);
    const left = queued + running.size;
    return {
      batchId,
      status: status(),
      total,
      done: succeeded,
      failed,
      cancelled,
      running: running.size,
      queued,
      paused: state.paused,
      ratePerMinute: Math.round(ratePerMinute * 10) / 10,
      etaSeconds: left === 0 ? 0 : ratePerMinute > 0 ? Math.round((left / ratePerMinute) * 60) : null,
      startedAt: state.startedAt,
      run: state.runs + 1,
      recentErrors: [...recentErrors],
      ...(state.resultsPath ? { resultsPath: state.resultsPath } : {}),
    };
  };
  const asPipelineProgress = (): PipelineProgress => {
    const p = progress();
    const finishedAll = p.done + p.failed + p.cancelled;
    return {
      pipeline: PIPELINES.batch.workflowType,
      provider: PIPELINES.batch.provider,
      stage: p.status,
      percent: total ? Math.floor((finishedAll / total) * 100) : 100,
      providerIds: {},
      log: recentErrors.map((message) => ({ at: p.startedAt, message })),
      startedAt: p.startedAt,
      updatedAt: new Date().toISOString(),
    };
  };
  const render = () => {
    const p = progress();
    const next = p.status;
    if (next !== stage) {
      stage = next;
      upsertSearchAttributes([{ key: REELAY_STAGE, value: next }]);
    }
    setCurrentDetails(
      [
        `**Batch of ${total}** (run ${p.run})`,
        `${p.status}: ${p.done} done, ${p.failed} failed, ${p.cancelled} cancelled, ${p.running} running, ${p.queued} queued`,
        p.recentErrors.length ? `Last error: ${p.recentErrors[p.recentErrors.length - 1]}` : undefined,
      ]
        .filter(Boolean)
        .join('\n'),
    );
  };

  setHandler(batchProgressQuery, progress);
  setHandler(progressQuery, asPipelineProgress);
  setHandler(pauseSignal, () => {
    state.paused = true;
    wakeups++;
  });
  setHandler(resumeSignal, () => {
    state.paused = false;
    wakeups++;
  });
  setHandler(cancelBatchSignal, () => {
    cancelRequested = true;
    children.cancel();
    wakeups++;
  });

  // After the handlers, so `progress` answers while these first steps run.
  if (!input.state) {
    // The cost guard, once, before any item starts: refuse with the numbers when a balance is short.
    const balance = await bookkeeping.batchCheckBalance({ manifestPath });
    if (balance.lines.some((l) => l.short) && !input.allowOverBudget) {
      throw ApplicationFailure.create({
        type: 'InsufficientBalance',
        nonRetryable: true,
        message: `Cost guard: ${balance.summary}. Nothing was started; top up, or start again allowing the batch over budget.`,
        details: [balance.lines],
      });
    }
    if (balance.lines.length) log.info('Cost estimate', { summary: balance.summary });
  }

  if (input.onlyLines && !input.state) {
    // retry-failed: the selected lines become a manifest of their own, so later runs carry no line list.
    ({ manifestPath, total } = await bookkeeping.batchSelectLines({ manifestPath, lines: input.onlyLines, name: `manifest-${batchId}` }));
  }


  const record = (item: ManifestPageItem, workflowId: string, itemStatus: BatchItemStatus, extra: Pick<BatchResultRecord, 'result' | 'error'>) => {
    running.delete(item.line);
    finishedThisRun++;
    if (itemStatus === 'completed') state.counts.succeeded++;
    else if (itemStatus === 'cancelled') state.counts.cancelled++;
    else {
      state.counts.failed++;
      state.failedLines.push(item.line);
      recentErrors.push(`line ${item.line}: ${extra.error?.type ? `${extra.error.type}: ` : ''}${extra.error?.message ?? 'failed'}`);
      if (recentErrors.length > RECENT_ERRORS_KEPT) recentErrors.shift();
    }
    finished.push({ line: item.line, pipeline: item.pipeline, workflowId, status: itemStatus, ...extra, at: new Date().toISOString() });
  };

  const launch = (item: ManifestPageItem) => {
    const workflowId = batchChildWorkflowId(batchId, item);
    running.set(item.line, workflowId);
    // The batch's priority and caller go to the items whose line sets none.
    const input = { ...batchClaim, ...item.input };
    const pipeline = item.pipeline;
    if (!isBatchItemPipeline(pipeline)) {
      // The starter validates every line against the registry; a line that names no batch pipeline never starts.
      record(item, workflowId, 'failed', { error: { type: 'UnknownPipeline', message: `"${pipeline}" is not a pipeline a batch runs` } });
      return;
    }
    void children
      .run(async () => {
        // By its type's name and untyped: a line's input is JSON the starter checked against the pipeline's own
        // schema when the manifest was loaded, and the child checks again; typing it here would load every
        // pipeline's schemas into each batch run (src/workflows/index.ts says why they load lazily).
        const child = await startChild(PIPELINES[pipeline].workflowType, {
          workflowId,
          args: [input],
          parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
          staticSummary: `Batch ${batchId}, line ${item.line} (${item.pipeline})`,
          ...temporalPriority(input as SlotClaim),
        });
        return child.result();
      })
      .then(
        (result: unknown) => record(item, workflowId, 'completed', { result }),
        (err: unknown) => record(item, workflowId, isCancellation(err) ? 'cancelled' : 'failed', { error: failureInfo(err) }),
      );
  };

  const flush = async () => {
    if (!finished.length) return;
    const records = finished.splice(0);
    ({ resultsPath: state.resultsPath } = await bookkeeping.batchAppendResults({ outputSubdir, records }));
  };

  const rollDue = () => finishedThisRun >= input.itemsPerRun || workflowInfo().continueAsNewSuggested;
  const pageSize = Math.max(input.window, MIN_PAGE_ITEMS);

  try {
    for (;;) {
      while (!cancelRequested && !state.paused && !rollDue() && running.size < input.window) {
        const item = queue.shift();
        if (item) {
          launch(item);
          continue;
        }
        if (eof) break;
        const page = await bookkeeping.batchReadManifest({ path: manifestPath, offset: readOffset, limit: pageSize });
        queue = page.items;
        readOffset = page.nextOffset;
        eof = page.eof;
      }
      render();
      await flush();
      if (running.size === 0 && finished.length === 0) {
        if (cancelRequested || (eof && queue.length === 0)) break;
        if (rollDue()) {
          state.nextOffset = queue[0]?.offset ?? readOffset;
          state.runs++;
          await condition(allHandlersFinished);
          await continueAsNew<typeof batchPipeline>({ ...rawInput, manifestPath, total, onlyLines: undefined, state });
        }
      }
      const seen = wakeups;
      await condition(() => finished.length > 0 || wakeups !== seen);
    }
  } catch (err) {
    if (!isCancellation(err)) throw err;
    // The batch workflow itself was cancelled: its children were cancelled with it; record how they ended.
    await CancellationScope.nonCancellable(async () => {
      cancelRequested = true;
      await condition(() => running.size === 0);
      await flush();
    });
    throw err;
  }

  closed = cancelRequested ? 'cancelled' : 'completed';
  render();
  if (!state.resultsPath) ({ resultsPath: state.resultsPath } = await bookkeeping.batchAppendResults({ outputSubdir, records: [] }));
  // In an object store the results are one object per line; render them into results.jsonl once, at the end.
  // (A local batch appends to results.jsonl as it goes, so its history is as before.)
  if (isS3Ref(state.resultsPath)) ({ resultsPath: state.resultsPath } = await bookkeeping.batchRenderResults({ resultsPath: state.resultsPath }));
  const { succeeded, failed, cancelled } = state.counts;
  return {
    batchId,
    status: closed,
    total,
    succeeded,
    failed,
    cancelled,
    notStarted: Math.max(0, total - succeeded - failed - cancelled),
    failedLines: state.failedLines,
    manifestPath,
    resultsPath: state.resultsPath,
    startedAt: state.startedAt,
    finishedAt: new Date().toISOString(),
    runs: state.runs + 1,
  };
}
