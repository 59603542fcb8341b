import { AsyncLocalStorage } from 'node:async_hooks';
import type { ProviderId } from './errors';

/**
 * What the HTTP core reports about each provider call it made, for metrics. The core stays free of
 * Temporal and of any metrics library: the worker runs each activity inside `observeProviderCalls` with
 * its own observer, so every client built anywhere under that activity reports to that worker, and
 * several workers in one process (tests) never share one.
 */
export type ProviderCallOutcome = '2xx' | '3xx' | '4xx' | '429' | '5xx' | 'network';

export interface ProviderCall {
  provider: ProviderId;
  /** The route template ('GET /shots/{shot_id}/status'), never a URL. */
  endpoint: string;
  outcome: ProviderCallOutcome;
  seconds: number;
}

export interface ProviderCallObserver {
  providerCall(call: ProviderCall): void;
}

const observers = new AsyncLocalStorage<ProviderCallObserver>();

/** Run `fn` with every provider call made under it (however deep) reported to `observer`. */
export function observeProviderCalls<T>(observer: ProviderCallObserver | undefined, fn: () => T): T {
  return observer ? observers.run(observer, fn) : fn();
}

/** The observer of the call being made, if any. */
export function currentProviderCallObserver(): ProviderCallObserver | undefined {
  return observers.getStore();
}

export function outcomeOfStatus(status: number): ProviderCallOutcome {
  if (status === 429) return '429';
  if (status >= 500) return '5xx';
  if (status >= 400) return '4xx';
  if (status >= 300) return '3xx';
  return '2xx';
}
