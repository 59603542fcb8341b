// No imports: the CLI loads this at exit whatever the command was.

let flushAtExit: (() => Promise<void>) | undefined;

/** Called by tracing.ts when it installs the SDK: what shutdownTracing runs. */
export function onShutdownTracing(fn: () => Promise<void>): void {
  flushAtExit = fn;
}

/**
 * Exports the spans still buffered and stops the tracer provider Reelay installed (none: nothing to do).
 * Short-lived processes (the CLI) call it before exiting; a worker's spans are flushed as it stops.
 */
export async function shutdownTracing(): Promise<void> {
  const fn = flushAtExit;
  flushAtExit = undefined;
  await fn?.().catch(() => undefined);
}
