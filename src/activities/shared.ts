import { Context, ApplicationFailure, CancelledFailure, log } from '@temporalio/activity';
import type { Dispatcher } from 'undici';
import { performance } from 'node:perf_hooks';
import type { ReelayConfig } from '../config';
import type { DeliveredFile } from '../contract/common';
import type { ReelayMetrics } from '../ops/metrics';
import { ProviderConfigError, isProviderError, type ProviderId } from '../providers/errors';
import { redactUrl } from '../providers/http';
import { observeProviderCalls } from '../providers/observe';
import { StoreError } from '../storage/errors';
import { storeForConfig, storeOutputUri } from '../storage/worker-store';
import type { MultipartCheckpoint } from '../storage/writer';
import { SourceError, contentTypeFor, downloadToFile, safeOutputPath, type DownloadCheckpoint, type TransferHooks } from './transfer';
import type { FileOpener } from '../providers/multipart';
import { isS3Ref, parseS3Uri } from '../storage/location';
import { openObject } from '../storage/s3';

export interface ActivityDeps {
  /** Root directory every output lands under; a pipeline writes to a subdirectory of it. */
  outputRoot: string;
  dispatcher?: Dispatcher;
  /** The worker's configuration, loaded once at start: provider settings and limits. */
  config: ReelayConfig;
  /** This worker's metrics (src/ops/metrics.ts); none when not given. */
  metrics?: ReelayMetrics;
}

/**
 * The one place provider faults become Temporal failures. The client already classified each error;
 * this keeps that decision: `type` names it, `nonRetryable` follows `retryable`, and a 429's
 * Retry-After becomes the next retry delay. Details carry what an operator needs, never a secret.
 */
export function toActivityFailure(err: unknown): unknown {
  if (err instanceof ApplicationFailure || err instanceof CancelledFailure) return err;
  if (isProviderError(err)) {
    return ApplicationFailure.create({
      type: err.type,
      message: err.message,
      nonRetryable: !err.retryable,
      // A `Retry-After: 0` must not become a zero next-retry delay: the server then gives up retrying.
      nextRetryDelay: err.retryAfterMs !== undefined && err.retryAfterMs > 0 ? err.retryAfterMs : undefined,
      details: [
        {
          provider: err.provider,
          endpoint: err.endpoint,
          status: err.status ?? null,
          providerMessage: err.providerMessage,
          ambiguous: err.ambiguous,
          requestId: err.requestId ?? null,
        },
      ],
    });
  }
  if (err instanceof ProviderConfigError) {
    return ApplicationFailure.create({ type: err.type, message: err.message, nonRetryable: true });
  }
  if (err instanceof SourceError) {
    return ApplicationFailure.create({ type: 'SourceUnavailable', message: err.message, nonRetryable: !err.retryable });
  }
  if (err instanceof StoreError) {
    return ApplicationFailure.create({ type: 'StoreError', message: err.message, nonRetryable: !err.retryable, details: [{ fault: err.fault, status: err.status ?? null }] });
  }
  return err;
}

/** Wrap every activity of a set so its errors pass through `toActivityFailure`. */
export function withFailureTranslation<T extends Record<string, (...args: never[]) => Promise<unknown>>>(activities: T): T {
  const wrapped: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(activities)) {
    const wrapper = async (...args: never[]) => {
      try {
        return await fn(...args);
      } catch (err) {
        // A call cut by the run's cancellation (a transfer aborted mid-stream) ends as cancelled, whatever
        // error the cut surfaced as, so the workflow sees a clean cancellation rather than a failure.
        const { cancellationSignal } = Context.current();
        if (cancellationSignal.aborted && cancellationSignal.reason instanceof CancelledFailure && !(err instanceof ApplicationFailure)) throw cancellationSignal.reason;
        throw toActivityFailure(err);
      }
    };
    Object.defineProperty(wrapper, 'name', { value: name });
    wrapped[name] = wrapper;
  }
  return wrapped as T;
}

/**
 * Run every activity of a set with the HTTP core reporting its provider calls to `metrics`: each call's
 * provider, endpoint template, outcome and latency, wherever under the activity the client was built.
 */
export function withProviderCallMetrics<T extends Record<string, (...args: never[]) => Promise<unknown>>>(metrics: ReelayMetrics | undefined, activities: T): T {
  if (!metrics) return activities;
  const wrapped: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(activities)) {
    const wrapper = (...args: never[]) => observeProviderCalls(metrics, () => fn(...args));
    Object.defineProperty(wrapper, 'name', { value: name });
    wrapped[name] = wrapper;
  }
  return wrapped as T;
}

/**
 * A transfer heartbeats at most this often (and once more on its last byte). A heartbeat costs the worker
 * about 0.3 ms of CPU (SDK 1.24, on the bench machine), so one per MiB of progress cost ~0.35 s per GiB
 * moved, a sixth of what the transfer itself now takes. The server hears from the worker once per throttle
 * interval (80% of the 1 min heartbeat timeout) either way, so neither liveness nor cancellation is slower.
 */
export const TRANSFER_HEARTBEAT_INTERVAL_MS = 1000;

/**
 * Transfer hooks bound to the running activity: cancellation signal, heartbeat with bytes done. A write
 * into the object store also heartbeats its multipart checkpoint (`storeUpload`), which the next attempt
 * resumes from (src/storage/writer.ts); its object carries the workflow id and the provider's job id.
 */
export function activityTransferHooks(deps: Pick<ActivityDeps, 'dispatcher'> & Partial<Pick<ActivityDeps, 'config' | 'metrics'>>, phase: string, extra: Record<string, unknown> = {}): TransferHooks {
  const ctx = Context.current();
  let lastBeatMs = -Infinity;
  // Phases are 'uploading…' or 'downloading…'; progress is cumulative, the counter takes what moved since.
  const direction = phase.startsWith('up') ? 'upload' : 'download';
  let counted = 0;
  const previous = ctx.info.heartbeatDetails as { storeUpload?: MultipartCheckpoint; download?: DownloadCheckpoint } | undefined;
  let storeUpload: MultipartCheckpoint | undefined;
  let download: DownloadCheckpoint | undefined;
  const jobId = [extra.generateId, extra.fileId, extra.jobId].find((v): v is string => typeof v === 'string');
  const config = deps.config;
  return {
    signal: ctx.cancellationSignal,
    dispatcher: deps.dispatcher,
    onProgress: (bytesDone, bytesTotal) => {
      if (bytesDone > counted) {
        deps.metrics?.transferBytes(direction, bytesDone - counted);
        counted = bytesDone;
      }
      const now = performance.now();
      // Dropped, never deferred: a late progress heartbeat would overwrite what the activity records next (markCreateSent).
      if (now - lastBeatMs < TRANSFER_HEARTBEAT_INTERVAL_MS && bytesDone !== bytesTotal) return;
      lastBeatMs = now;
      ctx.heartbeat({ ...extra, phase, bytesDone, bytesTotal: bytesTotal ?? null, ...(storeUpload ? { storeUpload } : {}), ...(download ? { download } : {}) });
    },
    // A download to a local file resumes where an earlier attempt stopped (a deploy, a network fault).
    resumeDownload: previous?.download,
    onDownloadCheckpoint: (cp) => {
      download = cp;
      lastBeatMs = performance.now();
      ctx.heartbeat({ ...extra, phase, bytesDone: 0, bytesTotal: cp.total ?? null, download: cp });
    },
    // Keep a partial download for the next attempt unless the run itself asked for the cancel (or closed).
    keepPartial: () => {
      const why = ctx.cancellationDetails;
      return !(why?.cancelRequested || why?.notFound);
    },
    ...(config?.storage
      ? {
          store: () => storeForConfig(config),
          resumeFrom: previous?.storeUpload,
          metadata: { workflowId: ctx.info.workflowExecution?.workflowId, providerJobId: jobId },
          onCheckpoint: (cp: MultipartCheckpoint) => {
            storeUpload = cp;
            lastBeatMs = performance.now();
            ctx.heartbeat({ ...extra, phase, bytesDone: cp.parts.reduce((n, p) => n + p.bytes, 0), bytesTotal: null, storeUpload: cp });
          },
        }
      : {}),
  };
}

/** Hooks that let a transfer read s3:// sources from the worker's object store. */
export function storeHooks(deps: Partial<Pick<ActivityDeps, 'config'>>): Pick<TransferHooks, 'store'> {
  const config = deps.config;
  return config?.storage ? { store: () => storeForConfig(config) } : {};
}

/** The directory a pipeline writes to, checked to stay under the output root. */
export function pipelineOutputDir(deps: ActivityDeps, subdir: string): string {
  return safeOutputPath(deps.outputRoot, subdir);
}

/** A provider client built once, on first use (a worker without that provider's key still runs the others). */
export function onFirstUse<C>(build: () => C): () => C {
  let client: C | undefined;
  return () => (client ??= build());
}

/** Call options for a status call or a transfer: the run's cancellation aborts it. */
export function cancellable(): { signal: AbortSignal } {
  return { signal: Context.current().cancellationSignal };
}

/** Call options for billable creates and their reconciliation: no signal, they run to their end even when the run is cancelled (see createAtMostOnce). */
export const RUN_TO_END: { signal?: undefined } = {};

/** Images sent in a multipart field are read into memory; larger ones are refused. */
export const MAX_STORED_IMAGE_BYTES = 64 * 1024 * 1024;

/**
 * Opens `s3://` image references for the multipart fields of provider requests (Vivid Flow `image`, AI
 * Studio's frames and references) from the worker's object store; local paths are left to the client.
 * The object is sized with HeadObject, refused above MAX_STORED_IMAGE_BYTES, and read whole (a form's
 * file part needs its length before it is sent). It runs before the create is sent, so a store fault
 * never leaves a billable create in doubt.
 */
export function storedFileOpener(deps: ActivityDeps): FileOpener {
  return async (ref) => {
    if (!isS3Ref(ref)) return undefined;
    const config = deps.config;
    if (!config?.storage) throw new Error(`cannot read ${ref}: no object store is configured on this worker (REELAY_OUTPUT_URL)`);
    const obj = await openObject(storeForConfig(config), parseS3Uri(ref, { requireKey: true }));
    try {
      if (obj.size > MAX_STORED_IMAGE_BYTES) {
        throw new Error(`${ref} is ${obj.size} bytes; an image field takes at most ${MAX_STORED_IMAGE_BYTES / 1024 / 1024} MiB`);
      }
      const chunks: Buffer[] = [];
      for await (const chunk of obj.stream) chunks.push(chunk as Buffer);
      const bytes = Buffer.concat(chunks);
      if (bytes.length !== obj.size) throw new StoreError(`reading ${ref}: got ${bytes.length} bytes of ${obj.size}`, 'length', true);
      const fileName = ref.slice(ref.lastIndexOf('/') + 1);
      return { blob: new Blob([bytes], { type: obj.contentType ?? contentTypeFor(fileName) }), fileName };
    } finally {
      obj.close();
    }
  };
}

/** Where a pipeline's downloads go: its s3:// prefix when outputs go to an object store, else its directory. */
export function pipelineOutputTarget(deps: ActivityDeps, subdir: string): string {
  return storeOutputUri(deps.config, subdir) ?? pipelineOutputDir(deps, subdir);
}

/**
 * Stream a provider's job result URL into the run's output directory, or into its object in the store
 * (tagged with the run and the job, so an object an earlier attempt completed is not written again); the
 * URL is recorded redacted.
 */
export async function deliverDownload(
  deps: ActivityDeps,
  provider: ProviderId,
  job: { jobId: string; url: string },
  outputSubdir: string,
  fileName: string,
): Promise<DeliveredFile> {
  const { url } = job;
  const file = await downloadToFile(
    { url, dir: pipelineOutputTarget(deps, outputSubdir), name: fileName, provider },
    activityTransferHooks(deps, 'downloading', { jobId: job.jobId }),
  );
  return { path: file.path, bytes: file.bytes, sha256: file.sha256, contentType: file.contentType, providerUrl: redactUrl(url), uri: file.uri, etag: file.etag };
}

/** What a billable create's activity records in its heartbeat, so the next attempt knows where it stood. */
interface CreateState {
  sent?: boolean;
  /** Worker clock when the create was sent; reconciliation looks for jobs created from then on. */
  sentAt?: number;
}

/** Clock skew allowed between the worker and the provider when matching a job's creation time. */
export const RECONCILE_SKEW_MS = 60_000;

/**
 * Whether an earlier attempt of this activity may have sent its create. Only an explicit `sent: false`
 * (the provider clearly refused) rules it out: a worker killed right after sending may never have
 * delivered its `sent: true`, so an attempt > 1 without it counts as maybe-sent too.
 */
export function maybeSentBefore(): { maybe: boolean; sinceMs: number } {
  const info = Context.current().info;
  const prev = info.heartbeatDetails as CreateState | undefined;
  const maybe = info.attempt > 1 && prev?.sent !== false;
  return { maybe, sinceMs: (prev?.sentAt ?? info.scheduledTimestampMs) - RECONCILE_SKEW_MS };
}

export function markCreateSent(extra: Record<string, unknown> = {}): void {
  Context.current().heartbeat({ ...extra, sent: true, sentAt: Date.now() } satisfies CreateState);
}

/** What a provider's list endpoint says about a create an earlier attempt may have made. */
export type Reconciliation<T> =
  | { kind: 'found'; value: T; detail: string }
  | { kind: 'absent' }
  | { kind: 'unsure'; why: string };

export interface BillableCreate<T> {
  /** What is being created, for messages: "Vivid Flow job for workflow X". */
  what: string;
  /** What an operator should check by hand when the outcome stays unknown. */
  check: string;
  /** Looks for a job created since `sinceMs` that is ours; absent when the provider has no list. */
  reconcile?: (sinceMs: number) => Promise<Reconciliation<T>>;
  create: () => Promise<T>;
  /** The caller accepts a possible second job rather than an OutcomeUnknown failure. */
  retryUnknownOutcome?: boolean;
}

/**
 * Make a billable create at most once across the attempts of its activity (DESIGN.md principle 2).
 *
 * `create` and `reconcile` must not pass the activity's cancellation signal to their HTTP calls: a POST
 * aborted mid-flight may still have created the job, and its id would be lost. The call is bounded by the
 * HTTP client's timeout; the workflow waits for it (WAIT_CANCELLATION_COMPLETED) and deals with the job.
 *
 * - Before creating, an attempt that follows one which may have sent the call reconciles through the
 *   provider's list: `found` is used as the result, `absent` creates, `unsure` (several candidates, a
 *   list that does not reach back far enough) ends in OutcomeUnknown.
 * - A create whose answer was lost (reset, timeout, 5xx other than 503, unreadable 2xx) is retried
 *   when a list can settle it (the retry reconciles first), and ends in OutcomeUnknown when none can.
 * - A clear refusal (4xx, 429, 503) records `sent: false`, so the retry creates without doubt.
 * `retryUnknownOutcome` turns every OutcomeUnknown into a plain create.
 */
export async function createAtMostOnce<T>(c: BillableCreate<T>): Promise<T> {
  const before = maybeSentBefore();
  if (before.maybe) {
    if (c.reconcile) {
      const r = await c.reconcile(before.sinceMs);
      if (r.kind === 'found') {
        log.info(`Reconciled: ${c.what} was already created`, { detail: r.detail });
        return r.value;
      }
      if (r.kind === 'unsure' && !c.retryUnknownOutcome) throw outcomeUnknown(c.what, `${r.why}. ${c.check}`);
    } else if (!c.retryUnknownOutcome) {
      throw outcomeUnknown(c.what, `An earlier attempt may have sent it. ${c.check}`);
    }
  }
  markCreateSent();
  try {
    return await c.create();
  } catch (err) {
    if (isProviderError(err) && err.ambiguous) {
      if (c.reconcile) {
        throw ApplicationFailure.create({
          type: 'CreateOutcomeAmbiguous',
          message: `${err.message}. The next attempt looks for ${c.what} at the provider before creating it again.`,
          details: [{ provider: err.provider, endpoint: err.endpoint, status: err.status ?? null }],
        });
      }
      if (!c.retryUnknownOutcome) throw outcomeUnknown(c.what, `${err.message}. ${c.check}`);
      throw err;
    }
    if (!(err instanceof CancelledFailure)) {
      // The provider clearly refused, or the call never left: nothing was created, so the next attempt may create.
      Context.current().heartbeat({ sent: false } satisfies CreateState);
    }
    throw err;
  }
}

export function outcomeUnknown(what: string, check: string): ApplicationFailure {
  return ApplicationFailure.create({
    type: 'OutcomeUnknown',
    nonRetryable: true,
    message: `${what} may or may not have been created at the provider, and there is no way to tell from here. ${check}`,
  });
}
