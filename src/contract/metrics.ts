/**
 * The names of Reelay's metrics, shared by the worker (src/ops/metrics.ts) and workflow code
 * (src/workflows/shared/metrics.ts). Every one is listed in README "Operations"; labels are
 * low-cardinality by design (provider, endpoint template, outcome class, direction, workflow type, outcome),
 * never an id or a URL.
 */
export const METRIC = {
  providerRequests: 'reelay_provider_requests_total',
  providerRequestDuration: 'reelay_provider_request_duration_seconds',
  transferBytes: 'reelay_transfer_bytes_total',
  statusPolls: 'reelay_status_polls_total',
  providerJobDuration: 'reelay_provider_job_duration_seconds',
  slotWaits: 'reelay_provider_slot_waits_total',
  slotWaitDuration: 'reelay_provider_slot_wait_seconds',
  jobsInFlight: 'reelay_provider_jobs_in_flight',
  pipelinesStarted: 'reelay_pipelines_started_total',
  pipelinesFinished: 'reelay_pipelines_finished_total',
} as const;

/** Bucket bounds in seconds: HTTP calls take milliseconds to a minute; jobs and slot waits seconds to hours. */
const REQUEST_BUCKETS_SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
const JOB_BUCKETS_SECONDS = [1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14_400, 28_800];

/** What the SDK's Prometheus exporter needs to bucket Reelay's histograms (its defaults are for milliseconds). */
export const HISTOGRAM_BUCKETS: Record<string, number[]> = {
  [METRIC.providerRequestDuration]: REQUEST_BUCKETS_SECONDS,
  [METRIC.providerJobDuration]: JOB_BUCKETS_SECONDS,
  [METRIC.slotWaitDuration]: JOB_BUCKETS_SECONDS,
};

