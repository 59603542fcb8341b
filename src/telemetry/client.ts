import type { ClientInterceptors } from '@temporalio/client';
import { tracingSettings } from './settings';

/**
 * The interceptors of a Reelay client: with tracing on (OTEL_* of `env`), the tracer provider is
 * installed (once per process) and each workflow start is a `StartWorkflow:<type>` span whose context
 * the workflow continues. Off: none, and the SDK is not loaded.
 */
export async function clientTracingInterceptors(env: NodeJS.ProcessEnv): Promise<ClientInterceptors> {
  const settings = tracingSettings(env);
  if (!settings) return {};
  const { installTracing, tracingClientInterceptors } = await import('./tracing');
  installTracing(settings, 'reelay');
  return { workflow: tracingClientInterceptors() };
}
