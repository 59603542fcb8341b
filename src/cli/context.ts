import type { Client } from '@temporalio/client';
import type { LogLevel } from '@temporalio/worker';
import type { LogFormat, ReelayConfig } from '../config';
import { CliError } from './args';

/** Shared plumbing for the commands: a client with a clear error when Temporal is not there, signals, output. */

export function print(line = ''): void {
  process.stdout.write(line + '\n');
}

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

export function note(line: string): void {
  process.stderr.write(line + '\n');
}

let loadedConfig: ReelayConfig | undefined;

/**
 * The configuration of this run of the CLI, read from the environment (and .env) once, when a command
 * first needs it. A bad value throws ConfigError, which main.ts turns into exit 2 with every problem listed.
 */
export async function cliConfig(): Promise<ReelayConfig> {
  const { loadConfig } = await import('../config');
  return (loadedConfig ??= loadConfig(process.env));
}

/** Where the configuration points the CLI at Temporal, for messages. */
export function describeTemporal(config: ReelayConfig): string {
  const t = config.temporal;
  return `${t.address} (namespace ${t.namespace}${t.profile ? `, profile "${t.profile.name}" of ${t.profile.file}` : ''})`;
}

export async function connect(): Promise<Client> {
  const config = await cliConfig();
  const { connectClient } = await import('../client');
  try {
    return await connectClient(config);
  } catch (err) {
    throw new CliError(
      `cannot reach Temporal at ${describeTemporal(config)}: ${(err as Error).message}. ` +
        'Start a local one with `reelay dev`, or set TEMPORAL_ADDRESS (or TEMPORAL_PROFILE).',
    );
  }
}

/** Runs `fn` with a connected client and closes the connection afterwards, so the process can exit. */
export async function withClient<T>(fn: (client: Client) => Promise<T>): Promise<T> {
  const client = await connect();
  try {
    return await fn(client);
  } finally {
    await client.connection.close().catch(() => undefined);
  }
}

let runtimeInstalled = false;

/**
 * The Temporal worker runtime, installed once per process before any worker connection. We handle
 * signals ourselves (`untilSignal`) so the worker, the sandbox and the dev server stop in order.
 */
export async function installWorkerRuntime(level: LogLevel = 'INFO', opts: { handleSignals?: boolean; metrics?: boolean; logFormat?: LogFormat } = {}): Promise<void> {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  const { reelayLogger } = await import('../ops/logging');
  const { installRuntime } = await import('../ops/runtime');
  // With REELAY_METRICS_ADDR the SDK's Prometheus exporter must be part of the runtime from the start.
  await installRuntime({ logger: reelayLogger(level, opts.logFormat ?? 'text'), metrics: opts.metrics ?? false, handleSignals: opts.handleSignals ?? false });
}

/**
 * Resolves on the first SIGINT or SIGTERM. A second one (more than a moment later) while shutting down
 * exits at once, for the person whose Ctrl-C seems to do nothing.
 */
export function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    let received = 0;
    const onSignal = (signal: NodeJS.Signals) => {
      // A Ctrl-C reaches us twice when a wrapper (npm, npx, tsx) relays what the terminal already sent.
      if (received && Date.now() - received < 1500) return;
      if (received) {
        note(`\nSecond ${signal}: exiting without waiting.`);
        process.exit(130);
      }
      received = Date.now();
      resolve(signal);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}
