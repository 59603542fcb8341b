import { Context, ApplicationFailure, CancelledFailure } from '@temporalio/activity';
import type { Dispatcher } from 'undici';
import path from 'node:path';
import { ProviderConfigError, isProviderError } from '../providers/errors';
import { SourceError, safeOutputPath, type TransferHooks } from './transfer';

export interface ActivityDeps {
  /** Root directory every output lands under; a pipeline writes to a subdirectory of it. */
  outputRoot: string;
  dispatcher?: Dispatcher;
  env?: NodeJS.ProcessEnv;
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
      nextRetryDelay: err.retryAfterMs,
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
        throw toActivityFailure(err);
      }
    };
    Object.defineProperty(wrapper, 'name', { value: name });
    wrapped[name] = wrapper;
  }
  return wrapped as T;
}

/** Transfer hooks bound to the running activity: cancellation signal, heartbeat with bytes done. */
export function activityTransferHooks(deps: ActivityDeps, phase: string, extra: Record<string, unknown> = {}): TransferHooks {
  const ctx = Context.current();
  return {
    signal: ctx.cancellationSignal,
    dispatcher: deps.dispatcher,
    onProgress: (bytesDone, bytesTotal) => ctx.heartbeat({ ...extra, phase, bytesDone, bytesTotal: bytesTotal ?? null }),
  };
}

/** The directory a pipeline writes to, checked to stay under the output root. */
export function pipelineOutputDir(deps: ActivityDeps, subdir: string): string {
  return safeOutputPath(deps.outputRoot, subdir);
}

export function relativeToRoot(deps: ActivityDeps, file: string): string {
  return path.relative(deps.outputRoot, file);
}

/**
 * Where a create call stands across attempts of its activity. Before sending a billable create we
 * heartbeat `sent`; an attempt that finds `sent` from an earlier attempt (a worker died mid-call, or the
 * answer was lost) must reconcile through the provider's list endpoint instead of creating again.
 */
export function previousAttemptSent(): boolean {
  const ctx = Context.current();
  const details = ctx.info.heartbeatDetails as { sent?: boolean } | undefined;
  return ctx.info.attempt > 1 && details?.sent === true;
}

export function markCreateSent(extra: Record<string, unknown> = {}): void {
  Context.current().heartbeat({ ...extra, sent: true });
}

/**
 * Make a billable create call at most once per activity, for providers with no way to reconcile: an
 * answer we did not get (timeout, reset, 5xx, unreadable 2xx), or an earlier attempt that may have sent
 * the call, ends in the non-retryable OutcomeUnknown naming what to check instead of a second job.
 */
export async function createOnce<T>(what: string, check: string, create: () => Promise<T>): Promise<T> {
  if (previousAttemptSent()) throw outcomeUnknown(what, check);
  markCreateSent();
  try {
    return await create();
  } catch (err) {
    if (isProviderError(err) && err.ambiguous) throw outcomeUnknown(what, check);
    // The provider clearly refused: nothing was created, so the next attempt may create.
    Context.current().heartbeat({ sent: false });
    throw err;
  }
}

export function outcomeUnknown(what: string, check: string): ApplicationFailure {
  return ApplicationFailure.create({
    type: 'OutcomeUnknown',
    nonRetryable: true,
    message: `${what} may or may not have been created at the provider, and it offers no way to find out from here. ${check}`,
  });
}
