import { Runtime, type Logger, type RuntimeOptions } from '@temporalio/worker';
import { HISTOGRAM_BUCKETS } from '../contract/metrics';
import net from 'node:net';
import { freePort } from './ports';

/**
 * The Temporal runtime options for a worker process that serves metrics: the SDK's Prometheus exporter on
 * a loopback port of its own (the worker's server on REELAY_METRICS_ADDR serves its text at /metrics, beside
 * /healthz and /readyz), durations in seconds, and Reelay's histograms bucketed in seconds.
 */
export async function metricsTelemetryOptions(): Promise<NonNullable<RuntimeOptions['telemetryOptions']>> {
  return {
    metrics: {
      prometheus: {
        bindAddress: `127.0.0.1:${await freePort()}`,
        useSecondsForDurations: true,
        histogramBucketOverrides: HISTOGRAM_BUCKETS,
      },
    },
  };
}


/**
 * Install the process's Temporal runtime (once, before any connection): the logger and, with `metrics`,
 * the SDK's Prometheus exporter (metricsTelemetryOptions).
 */
export async function installRuntime(opts: { logger: Logger; metrics: boolean; handleSignals?: boolean }): Promise<void> {
  Runtime.install({
    logger: opts.logger,
    ...(opts.metrics ? { telemetryOptions: await metricsTelemetryOptions() } : {}),
    ...(opts.handleSignals === false ? { shutdownSignals: [] } : {}),
  });
}

/**
 * `host:port` of the installed runtime's Prometheus exporter, if it has one: Reelay's or one the embedding
 * service installed itself (`Runtime.install({ telemetryOptions: { metrics: { prometheus: … } } })`).
 */
export function sdkPrometheusAddress(): string | undefined {
  const exporter = (Runtime.instance().options.runtimeOptions as { metricsExporter?: { type?: string; socketAddr?: string } | null }).metricsExporter;
  return exporter?.type === 'prometheus' ? exporter.socketAddr : undefined;
}

/** Where `reelay dev` and the demo serve metrics unless REELAY_METRICS_ADDR says: 9464 (Prometheus's exporter default) if free. */
export const DEV_METRICS_PORT = 9464;

/** REELAY_METRICS_ADDR for `reelay dev` and the demo: the variable, else 127.0.0.1:9464, else any free loopback port. */
export async function devMetricsAddress(env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const set = env.REELAY_METRICS_ADDR?.trim();
  if (set) return set;
  const free = await new Promise<boolean>((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(DEV_METRICS_PORT, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
  return `127.0.0.1:${free ? DEV_METRICS_PORT : 0}`;
}
