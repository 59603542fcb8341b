import type { MetricCounter, MetricHistogram, MetricMeter } from '@temporalio/common';
import { METRIC } from '../contract/metrics';
import type { ProviderCall, ProviderCallObserver } from '../providers/observe';

export { HISTOGRAM_BUCKETS, METRIC } from '../contract/metrics';

/**
 * Reelay's own metrics, recorded through the Temporal SDK's metric meter, so that the one Prometheus
 * exporter of the SDK's runtime carries them beside the SDK's (schedule-to-start latency, slots, sticky
 * cache, polls); see src/ops/server.ts for how they are served. Workflow code records its metrics through
 * the workflow meter (src/workflows/shared/metrics.ts), which the SDK skips during replay.
 * */
export type TransferDirection = 'download' | 'upload';

/** The worker side of Reelay's metrics: provider calls (through the HTTP core's observer) and bytes moved. */
export interface ReelayMetrics extends ProviderCallObserver {
  transferBytes(direction: TransferDirection, bytes: number): void;
}

/**
 * Metrics recorded on `meter` (the worker's: `Runtime.instance().metricMeter`). One per worker, held by
 * that worker's activities: nothing module-global, so several workers in one process keep apart.
 */
export function createReelayMetrics(meter: MetricMeter): ReelayMetrics {
  const requests: MetricCounter = meter.createCounter(METRIC.providerRequests, undefined, 'Provider HTTP requests by provider, endpoint template and outcome class');
  const duration: MetricHistogram = meter.createHistogram(METRIC.providerRequestDuration, 'float', 's', 'Provider HTTP request latency, to the end of the response body');
  const bytes: MetricCounter = meter.createCounter(METRIC.transferBytes, 'By', 'Bytes moved by uploads and downloads, by direction');
  return {
    providerCall(call: ProviderCall) {
      const tags = { provider: call.provider, endpoint: call.endpoint, outcome: call.outcome };
      requests.add(1, tags);
      duration.record(call.seconds, { provider: call.provider, endpoint: call.endpoint });
    },
    transferBytes(direction, n) {
      if (n > 0) bytes.add(Math.round(n), { direction });
    },
  };
}
